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
  valuesKey: writeApi
  pathPrefix: /api/write
  dbHost: {{ include "catalog.db.primaryHost" . }}
  dbUser: catalog_writer
  account: catalog-writer
  values:
    {{- include "catalog.apiValues" (dict "root" . "key" "writeApi") | nindent 4 }}
read-api:
  name: read-api
  valuesKey: readApi
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
{{- $auth := include "catalog.auth" . | fromYaml -}}
{{- $wired := dict "database" (dict "host" .component.dbHost "port" 3306 "user" .component.dbUser) "server" (dict "port" 8080 "admin_port" 9464) -}}
{{- $config := mustMergeOverwrite (deepCopy $wired) (deepCopy $values.config) -}}
{{- /* auth.required as the chart decided it, so the app and the chart never disagree; and the
mounted public key (catalog.auth). */}}
{{- $authConfig := dict "required" $auth.required -}}
{{- if $auth.publicKey }}
{{- $_ := set $authConfig "public_key_file" $auth.publicKeyFile -}}
{{- end }}
{{- if $auth.jwksCa }}
{{- $_ := set $authConfig "jwks_ca_file" $auth.jwksCaFile -}}
{{- end }}
{{- $_ := set $config "auth" (mustMergeOverwrite (deepCopy ($config.auth | default dict)) $authConfig) -}}
{{- toYaml $config }}
{{- end }}

{{/*
Bearer-token authentication of one API (docs/auth.md), decided once for every template that
needs it (config file, Deployment volumes, NetworkPolicy, helm test pod). (dict "root" $ "component" $c)
gives YAML with:
  required       the API's config.auth.required when set, else the app's own default
                 (write-api true, read-api false);
  jwksUrl        config.auth.jwks_url ("" when unset), and jwksPort its TCP port
                 (the URL's, else 443 for https, 80 for http);
  publicKey      true when the Secret authPublicKeySecret is mounted (required, no jwksUrl),
                 publicKeySecret/publicKeyKey/publicKeyFile what and where;
  jwksCa         true when the ConfigMap authJwksCaConfigMap is mounted (required, jwksUrl set),
                 jwksCaConfigMap/jwksCaKey/jwksCaFile what and where.
Rendering fails, naming the values to set, when a required API lacks its issuer, audience or
exactly one key source: the app would refuse to start (check-config exits 2) for the same reasons.
*/}}
{{- define "catalog.auth" -}}
{{- $values := .component.values -}}
{{- $api := .component.valuesKey -}}
{{- $auth := (($values.config | default dict).auth) | default dict -}}
{{- $required := eq .component.name "write-api" -}}
{{- if hasKey $auth "required" }}{{ $required = $auth.required }}{{ end -}}
{{- $jwksUrl := $auth.jwks_url | default "" -}}
{{- $secret := $values.authPublicKeySecret | default dict -}}
{{- $ca := $values.authJwksCaConfigMap | default dict -}}
{{- $jwksPort := 0 -}}
{{- if $required }}
{{- $help := printf "set them in apiDefaults (both APIs) or %s (%s alone); docs/auth.md explains each" $api .component.name -}}
{{- if or (not $auth.issuer) (not $auth.audience) }}
{{- fail (printf "%s requires a bearer token (auth.required) but auth.issuer or auth.audience is empty: set config.auth.issuer and config.auth.audience, the iss and aud of the tokens it accepts; %s" .component.name $help) }}
{{- end }}
{{- if $auth.public_key_file }}
{{- fail (printf "%s: config.auth.public_key_file is set by the chart, which mounts the key from authPublicKeySecret: set authPublicKeySecret.name (and .key) instead; %s" .component.name $help) }}
{{- end }}
{{- if $auth.jwks_ca_file }}
{{- fail (printf "%s: config.auth.jwks_ca_file is set by the chart, which mounts the CA bundle from authJwksCaConfigMap: set authJwksCaConfigMap.name (and .key) instead; %s" .component.name $help) }}
{{- end }}
{{- if and $jwksUrl $secret.name }}
{{- fail (printf "%s has two token key sources, config.auth.jwks_url and authPublicKeySecret.name: keep exactly one, setting the other to an empty string (%s.config.auth.jwks_url or %s.authPublicKeySecret.name); %s" .component.name $api $api $help) }}
{{- end }}
{{- if and (not $jwksUrl) (not $secret.name) }}
{{- fail (printf "%s requires a bearer token (auth.required) but has no key to verify it with: set authPublicKeySecret.name (a Secret holding the issuer's PEM public key) or config.auth.jwks_url (the issuer's JWKS URL); %s" .component.name $help) }}
{{- end }}
{{- if $jwksUrl }}
{{- $url := urlParse $jwksUrl -}}
{{- if not (has $url.scheme (list "https" "http")) }}
{{- fail (printf "%s: config.auth.jwks_url %q is not an http(s) URL (docs/auth.md)" .component.name $jwksUrl) }}
{{- end }}
{{- $jwksPort = regexFind ":[0-9]+$" $url.host | trimPrefix ":" | default (ternary "443" "80" (eq $url.scheme "https")) | atoi -}}
{{- end }}
{{- end }}
{{- $publicKey := and $required (not $jwksUrl) -}}
{{- $jwksCa := and $required (ne $jwksUrl "") (ne ($ca.name | default "") "") -}}
required: {{ $required }}
jwksUrl: {{ $jwksUrl | quote }}
jwksPort: {{ $jwksPort }}
publicKey: {{ $publicKey }}
{{- if $publicKey }}
publicKeySecret: {{ $secret.name | quote }}
publicKeyKey: {{ $secret.key | default "public.pem" | quote }}
publicKeyFile: {{ printf "/var/run/secrets/catalog/auth/%s" ($secret.key | default "public.pem") | quote }}
{{- end }}
jwksCa: {{ $jwksCa }}
{{- if $jwksCa }}
jwksCaConfigMap: {{ $ca.name | quote }}
jwksCaKey: {{ $ca.key | default "ca.crt" | quote }}
jwksCaFile: {{ printf "/var/run/secrets/catalog/auth-ca/%s" ($ca.key | default "ca.crt") | quote }}
{{- end }}
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
