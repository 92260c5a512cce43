// chartcheck holds the two checks of the chart tests that need upstream Go code to be trusted:
//
//	chartcheck pod-security <manifests.yaml>  evaluates every pod template against the Pod Security
//	                                          "restricted" level with the admission controller's own
//	                                          library; prints each violation, exits 1 on any.
//	chartcheck promql-metrics [--labels]      reads one PromQL expression per line on stdin, parses it
//	                                          with Prometheus' parser and prints the metric names it
//	                                          selects, one per line (with --labels: "<metric> <label>"
//	                                          for every label a selector matches on or an aggregation
//	                                          groups it by); exits 1 on a parse error.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: chartcheck pod-security <manifests.yaml> | chartcheck promql-metrics")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "pod-security":
		if len(os.Args) != 3 {
			err = errors.New("usage: chartcheck pod-security <manifests.yaml>")
			break
		}
		err = podSecurity(os.Args[2])
	case "promql-metrics":
		err = promqlMetrics(os.Stdin, os.Stdout, len(os.Args) == 3 && os.Args[2] == "--labels")
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chartcheck:", err)
		os.Exit(1)
	}
}

// podTemplate finds the pod spec in any workload kind the charts render.
func podTemplate(doc []byte, kind string) (*metav1.ObjectMeta, *corev1.PodSpec, error) {
	switch kind {
	case "Pod":
		var o corev1.Pod
		err := yaml.UnmarshalStrict(doc, &o)
		return &o.ObjectMeta, &o.Spec, err
	case "Deployment":
		var o appsv1.Deployment
		err := yaml.UnmarshalStrict(doc, &o)
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, err
	case "StatefulSet":
		var o appsv1.StatefulSet
		err := yaml.UnmarshalStrict(doc, &o)
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, err
	case "DaemonSet":
		var o appsv1.DaemonSet
		err := yaml.UnmarshalStrict(doc, &o)
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, err
	case "Job":
		var o batchv1.Job
		err := yaml.UnmarshalStrict(doc, &o)
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, err
	case "CronJob":
		var o batchv1.CronJob
		err := yaml.UnmarshalStrict(doc, &o)
		return &o.Spec.JobTemplate.Spec.Template.ObjectMeta, &o.Spec.JobTemplate.Spec.Template.Spec, err
	}
	return nil, nil, nil
}

func podSecurity(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return err
	}
	restricted := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	pods, violations := 0, 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return err
		}
		meta, spec, err := podTemplate(doc, head.Kind)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", head.Kind, head.Metadata.Name, err)
		}
		if spec == nil {
			continue
		}
		pods++
		for _, result := range evaluator.EvaluatePod(restricted, meta, spec) {
			if !result.Allowed {
				violations++
				fmt.Printf("%s/%s: %s: %s\n", head.Kind, head.Metadata.Name, result.ForbiddenReason, result.ForbiddenDetail)
			}
		}
	}
	if pods == 0 {
		return errors.New("no pod templates found: nothing was checked")
	}
	fmt.Printf("pod security restricted (%s): %d pod templates, %d violations\n", restricted.Version.String(), pods, violations)
	if violations > 0 {
		return errors.New("pod security violations")
	}
	return nil
}

func promqlMetrics(in io.Reader, out io.Writer, withLabels bool) error {
	names := map[string]bool{}
	promql := parser.NewParser(parser.Options{})
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for scanner.Scan() {
		line++
		text := scanner.Text()
		if text == "" {
			continue
		}
		expr, err := promql.ParseExpr(text)
		if err != nil {
			return fmt.Errorf("line %d: %q: %w", line, text, err)
		}
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			// sum by (a, b) (...): every metric aggregated must carry a and b.
			if aggregate, ok := node.(*parser.AggregateExpr); ok && withLabels && !aggregate.Without {
				parser.Inspect(aggregate.Expr, func(inner parser.Node, _ []parser.Node) error {
					if selector, ok := inner.(*parser.VectorSelector); ok {
						for _, label := range aggregate.Grouping {
							names[selector.Name+" "+label] = true
						}
					}
					return nil
				})
			}
			if selector, ok := node.(*parser.VectorSelector); ok {
				name := selector.Name
				for _, m := range selector.LabelMatchers {
					if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
						name = m.Value
					}
				}
				if name == "" {
					err = fmt.Errorf("line %d: selector %s names no metric", line, selector)
				}
				if !withLabels {
					names[name] = true
					return nil
				}
				for _, m := range selector.LabelMatchers {
					if m.Name != labels.MetricName {
						names[name+" "+m.Name] = true
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := scanner.Err(); err != nil {
		return err
	}
	sorted := make([]string, 0, len(names))
	for name := range names {
		sorted = append(sorted, name)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		fmt.Fprintln(out, name)
	}
	return nil
}
