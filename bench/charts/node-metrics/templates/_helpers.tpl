{{/*
The chart name, overridable with nameOverride; cut to 63 characters (a DNS label).
*/}}
{{- define "node-metrics.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects; cut to 63 characters.
*/}}
{{- define "node-metrics.fullname" -}}
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

{{/*
The chart's name and version, as used by the helm.sh/chart label.
*/}}
{{- define "node-metrics.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The namespace objects go into.
*/}}
{{- define "node-metrics.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The cluster zone: required, as every series is labelled with it.
*/}}
{{- define "node-metrics.zone" -}}
{{- required "zone is required: the zone of the cluster" .Values.zone | toString }}
{{- end }}

{{/*
Labels every object carries.
*/}}
{{- define "node-metrics.labels" -}}
helm.sh/chart: {{ include "node-metrics.chart" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: metrics
app.kubernetes.io/part-of: {{ include "node-metrics.name" . }}
{{ include "node-metrics.selectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
topology.example.com/zone: {{ include "node-metrics.zone" . | quote }}
{{- with .Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- with .Values.commonLabels }}
{{ tpl (toYaml .) $ }}
{{- end }}
{{- end }}

{{/*
Labels that select the release's pods.
*/}}
{{- define "node-metrics.selectorLabels" -}}
app.kubernetes.io/name: {{ include "node-metrics.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The service account of the pods.
*/}}
{{- define "node-metrics.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "node-metrics.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: registry/repository, then @digest or :tag (the appVersion by default).
*/}}
{{- define "node-metrics.image" -}}
{{- $repository := .Values.image.repository -}}
{{- with .Values.image.registry -}}
{{- $repository = printf "%s/%s" . $repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (.Values.image.tag | default (printf "v%s" .Chart.AppVersion)) -}}
{{- end -}}
{{- end }}

{{/*
The job label of the scraped series.
*/}}
{{- define "node-metrics.monitor.jobLabel" -}}
{{- default "app.kubernetes.io/name" .Values.prometheus.monitor.jobLabel }}
{{- end }}

{{/*
Selector labels of the ServiceMonitor.
*/}}
{{- define "node-metrics.monitor.selectorLabels" -}}
{{- if .Values.prometheus.monitor.selectorOverride }}
{{- toYaml .Values.prometheus.monitor.selectorOverride }}
{{- else }}
{{- include "node-metrics.selectorLabels" . }}
{{- end }}
{{- end }}

{{/*
The address the exporter listens on.
*/}}
{{- define "node-metrics.listenAddress" -}}
{{- if .Values.service.listenOnAllInterfaces -}}
{{- if .Values.service.ipDualStack.enabled -}}
[::]:{{ .Values.service.targetPort }}
{{- else -}}
0.0.0.0:{{ .Values.service.targetPort }}
{{- end -}}
{{- else -}}
$(HOST_IP):{{ .Values.service.targetPort }}
{{- end -}}
{{- end }}
