{{/*
Names. The two APIs share every template: "catalog.components" lists them and each template
ranges over it, so write-api and read-api can never drift apart.
*/}}

{{- define "catalog.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "catalog.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "catalog.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "catalog.labels" -}}
helm.sh/chart: {{ include "catalog.chart" . }}
app.kubernetes.io/part-of: catalog
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/* Selector labels of one API (both tracks): (dict "root" $ "component" $c) */}}
{{- define "catalog.selectorLabels" -}}
app.kubernetes.io/name: {{ .component.name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/*
The APIs, with the wiring the naming contract fixes:
  write-api -> the primary (pod mysql.primaryOrdinal, 0 unless failed over) through the headless
               Service, account catalog-writer;
  read-api  -> the read Service (replicas + primary), account catalog-reader.
and under `values` each one's settings (catalog.apiValues).
*/}}
{{- define "catalog.components" -}}
write-api:
  name: write-api
  pathPrefix: /api/write
  dbHost: {{ include "catalog.db.primaryHost" . }}
  dbUser: catalog_writer
  account: catalog-writer
  values:
    {{- include "catalog.apiValues" (dict "root" . "key" "writeApi") | nindent 4 }}
read-api:
  name: read-api
  pathPrefix: /api/read
  dbHost: {{ include "catalog.db.readHost" . }}
  dbUser: catalog_reader
  account: catalog-reader
  values:
    {{- include "catalog.apiValues" (dict "root" . "key" "readApi") | nindent 4 }}
{{- end }}

{{/* One API's settings: apiDefaults overridden key by key by writeApi or readApi. (dict "root" $ "key" "writeApi") */}}
{{- define "catalog.apiValues" -}}
{{- toYaml (mustMergeOverwrite (deepCopy .root.Values.apiDefaults) (deepCopy (index .root.Values .key))) }}
{{- end }}

{{/* Resource name of one API, e.g. catalog-write-api. */}}
{{- define "catalog.componentFullname" -}}
{{- printf "%s-%s" (include "catalog.fullname" .root) .component.name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The database: with the mysql subchart on, its primary, read Service and account Secrets as that
chart's own helpers name them (.Subcharts.mysql is the subchart's template context, its values
included); with it off, the external database named by externalDatabase.
*/}}
{{- define "catalog.db.primaryHost" -}}
{{- with index .Subcharts "mysql" }}{{ include "mysql.primaryHost" . }}{{ else }}{{ .Values.externalDatabase.primaryHost }}{{ end }}
{{- end }}

{{- define "catalog.db.readHost" -}}
{{- with index .Subcharts "mysql" }}{{ include "mysql.read" . }}{{ else }}{{ .Values.externalDatabase.readHost }}{{ end }}
{{- end }}

{{/* Secret holding one DB account's `username`/`password`. (dict "root" $ "account" "catalog-writer") */}}
{{- define "catalog.db.accountSecret" -}}
{{- with index .root.Subcharts "mysql" }}
{{- include "mysql.secretName" (dict "root" . "account" $.account) }}
{{- else }}
{{- index .root.Values.externalDatabase.secrets .account }}
{{- end }}
{{- end }}

{{/*
Image of one API: repository:tag, plus @digest when one is given. The tag defaults to the chart
appVersion. The canary passes its own tag and digest. (dict "root" $ "component" $c "image" <override>)
*/}}
{{- define "catalog.image" -}}
{{- $values := .component.values.image -}}
{{- $override := .image | default dict -}}
{{- $tag := $override.tag | default $values.tag | default .root.Chart.AppVersion -}}
{{- $digest := ternary ($override.digest | default "") ($values.digest | default "") (hasKey $override "tag") -}}
{{- printf "%s:%s" $values.repository $tag }}{{ with $digest }}@{{ . }}{{ end }}
{{- end }}

{{/*
The application's configuration file: the API's config (apiDefaults.config under <api>.config) with
the database host and user the wiring decides filled in unless set explicitly. The password is
never in it.
*/}}
{{- define "catalog.appConfig" -}}
{{- $values := .component.values -}}
{{- $wired := dict "database" (dict "host" .component.dbHost "port" 3306 "user" .component.dbUser) "server" (dict "port" 8080 "admin_port" 9464) -}}
{{- $config := mustMergeOverwrite (deepCopy $wired) (deepCopy $values.config) -}}
{{- toYaml $config }}
{{- end }}

{{/*
Stopping a pod: the preStop hook sleeps for the app's drain delay while Services and the ingress
controller drop the endpoint; then SIGTERM starts the app's own shutdown (readiness 503, serve
drain_delay_ms more, give in-flight requests grace_period_ms, close the pool). The grace period
covers all of it plus a 5 s margin. (dict "config" <api>.config)
*/}}
{{- define "catalog.preStopSeconds" -}}
{{- $shutdown := .config.shutdown | default dict -}}
{{- div (add ($shutdown.drain_delay_ms | default 5000) 999) 1000 }}
{{- end }}

{{- define "catalog.terminationGracePeriodSeconds" -}}
{{- $shutdown := .config.shutdown | default dict -}}
{{- $drain := $shutdown.drain_delay_ms | default 5000 -}}
{{- $grace := $shutdown.grace_period_ms | default 15000 -}}
{{- add (include "catalog.preStopSeconds" .) (div (add $drain $grace 999) 1000) 5 }}
{{- end }}

{{- define "catalog.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "catalog.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}
