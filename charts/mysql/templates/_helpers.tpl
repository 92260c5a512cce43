{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "mysql.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the StatefulSet, and the prefix of every other resource. */}}
{{- define "mysql.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mysql.headless" -}}{{ include "mysql.fullname" . }}-headless{{- end -}}
{{- define "mysql.read" -}}{{ include "mysql.fullname" . }}-read{{- end -}}
{{- define "mysql.primaryHost" -}}{{ include "mysql.fullname" . }}-{{ .Values.primaryOrdinal }}.{{ include "mysql.headless" . }}{{- end -}}

{{/* The Secret of one account: existingSecret or <fullname>-<account>. */}}
{{- define "mysql.secretName" -}}
{{- $account := index .root.Values.auth .account -}}
{{- default (printf "%s-%s" (include "mysql.fullname" .root) .account) $account.existingSecret -}}
{{- end -}}

{{- define "mysql.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "mysql.name" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
{{ include "mysql.instanceLabels" . }}
{{- end -}}

{{/* Every pod of this release (database and backup): the NetworkPolicy's "our own pods". */}}
{{- define "mysql.instanceLabels" -}}
app.kubernetes.io/name: {{ include "mysql.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The database pods only. */}}
{{- define "mysql.selectorLabels" -}}
{{ include "mysql.instanceLabels" . }}
app.kubernetes.io/component: database
{{- end -}}

{{- define "mysql.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}:{{ $tag }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{/* Accounts, in the naming contract's order. */}}
{{- define "mysql.accounts" -}}
root catalog-migrator catalog-writer catalog-reader repl probe exporter backup
{{- end -}}

{{/* Database user name of an account (catalog-writer -> catalog_writer). */}}
{{- define "mysql.username" -}}
{{- . | replace "-" "_" -}}
{{- end -}}

{{- define "mysql.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}

{{- define "mysql.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{/* Secret volumes: one directory per account under /etc/mysql/secrets. */}}
{{- define "mysql.secretVolume" -}}
- name: secret-{{ .account }}
  secret:
    secretName: {{ include "mysql.secretName" . }}
    defaultMode: 0400
{{- end -}}

{{/* Environment of every database container: the settings files/*.sh read. */}}
{{- define "mysql.podEnv" -}}
- name: MYSQL_PRIMARY_HOST
  value: {{ include "mysql.primaryHost" . }}
- name: MYSQL_PRIMARY_PORT
  value: "3306"
- name: MYSQL_PRIMARY_ORDINAL
  value: {{ .Values.primaryOrdinal | quote }}
- name: MYSQL_PORT
  value: "3306"
- name: MYSQL_DATA_ROOT
  value: /var/lib/mysql
- name: MYSQL_CONF_DIR
  value: /etc/mysql/generated
- name: MYSQL_RUN_DIR
  value: /run/mysqld
- name: MYSQL_SECRETS_DIR
  value: /etc/mysql/secrets
- name: TMPDIR
  value: /tmp
- name: MYSQL_DATABASE
  value: {{ .Values.database | quote }}
- name: MYSQL_SERVER_ID_BASE
  value: {{ .Values.config.serverIdBase | quote }}
- name: MYSQL_INNODB_BUFFER_POOL_SIZE
  value: {{ .Values.config.innodbBufferPoolSize | quote }}
- name: MYSQL_MAX_CONNECTIONS
  value: {{ .Values.config.maxConnections | quote }}
- name: MYSQL_BINLOG_EXPIRE_SECONDS
  value: {{ .Values.config.binlogExpireSeconds | quote }}
- name: MYSQL_EXTRA_CNF
  value: /opt/mysql/scripts/extra.cnf
- name: READINESS_MAX_LAG_SECONDS
  value: {{ .Values.probes.readinessMaxLagSeconds | quote }}
- name: BOOTSTRAP_PRIMARY_WAIT_SECONDS
  value: {{ .Values.bootstrapPrimaryWaitSeconds | quote }}
{{- if .Values.metrics.enabled }}
- name: EXPORTER_CONF_DIR
  value: /etc/mysqld-exporter
{{- end }}
{{- end -}}
