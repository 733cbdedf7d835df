{{/* vim: set filetype=mustache: */}}

{{/*
The chart name, overridable with nameOverride; cut to 63 characters (a DNS label).
*/}}
{{- define "edge-ingress.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The full name of the release's objects: the release name, with the chart name unless the
release name already holds it; cut to 63 characters as some fields are DNS labels.
*/}}
{{- define "edge-ingress.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The chart's name and version, as used by the helm.sh/chart label.
*/}}
{{- define "edge-ingress.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The namespace objects go into.
*/}}
{{- define "edge-ingress.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels every object carries.
*/}}
{{- define "edge-ingress.labels" -}}
helm.sh/chart: {{ include "edge-ingress.chart" . }}
{{ include "edge-ingress.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/part-of: {{ template "edge-ingress.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Labels that select the release's pods.
*/}}
{{- define "edge-ingress.selectorLabels" -}}
app.kubernetes.io/name: {{ include "edge-ingress.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
An image reference from {registry, image, tag, digest}: the digest wins over the tag, the tag
defaults to the chart's appVersion, and the global registry stands in for a missing one.
Called with (dict "image" <image values> "context" $).
*/}}
{{- define "edge-ingress.image" -}}
{{- $image := .image -}}
{{- $registry := $image.registry | default .context.Values.global.image.registry -}}
{{- $repository := $image.image -}}
{{- if $registry -}}
{{- $repository = printf "%s/%s" $registry $image.image -}}
{{- end -}}
{{- $tag := $image.tag | default (printf "v%s" .context.Chart.AppVersion) -}}
{{- if $image.digest -}}
{{- printf "%s:%s@%s" $repository $tag $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The controller's full name.
*/}}
{{- define "edge-ingress.controller.fullname" -}}
{{- printf "%s-%s" (include "edge-ingress.fullname" .) .Values.controller.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The controller container's name.
*/}}
{{- define "edge-ingress.controller.containerName" -}}
{{- default "controller" .Values.controller.containerName -}}
{{- end -}}

{{/*
The controller's leader election ID.
*/}}
{{- define "edge-ingress.controller.electionID" -}}
{{- $defElectionID := printf "%s-leader" (include "edge-ingress.fullname" .) -}}
{{- $electionID := default $defElectionID .Values.controller.electionID -}}
{{- print $electionID -}}
{{- end -}}

{{/*
The Service whose address the controller writes to Ingress status: <namespace>/<name>.
*/}}
{{- define "edge-ingress.controller.publishServicePath" -}}
{{- $defServiceName := printf "%s/%s" "$(POD_NAMESPACE)" (include "edge-ingress.controller.fullname" .) -}}
{{- $servicePath := default $defServiceName .Values.controller.publishService.pathOverride -}}
{{- print $servicePath | trimSuffix "-" -}}
{{- end -}}

{{/*
The ConfigMap the controller reads its configuration from.
*/}}
{{- define "edge-ingress.controller.configMapName" -}}
{{- default (include "edge-ingress.controller.fullname" .) .Values.controller.existingConfigMap -}}
{{- end -}}

{{/*
The controller's service account.
*/}}
{{- define "edge-ingress.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (include "edge-ingress.fullname" .) .Values.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{/*
The default backend's full name.
*/}}
{{- define "edge-ingress.defaultBackend.fullname" -}}
{{- printf "%s-%s" (include "edge-ingress.fullname" .) .Values.defaultBackend.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The default backend's service account.
*/}}
{{- define "edge-ingress.defaultBackend.serviceAccountName" -}}
{{- if .Values.defaultBackend.serviceAccount.create -}}
{{ default (printf "%s-backend" (include "edge-ingress.fullname" .)) .Values.defaultBackend.serviceAccount.name }}
{{- else -}}
{{ default "default-backend" .Values.defaultBackend.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{/*
The admission webhook's full name, and that of its hook objects.
*/}}
{{- define "edge-ingress.admissionWebhooks.fullname" -}}
{{- printf "%s-admission" (include "edge-ingress.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "edge-ingress.admissionWebhooks.createSecretJob.name" -}}
{{- printf "%s-%s" (include "edge-ingress.admissionWebhooks.fullname" .) .Values.controller.admissionWebhooks.createSecretJob.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "edge-ingress.admissionWebhooks.patchWebhookJob.name" -}}
{{- printf "%s-%s" (include "edge-ingress.admissionWebhooks.fullname" .) .Values.controller.admissionWebhooks.patchWebhookJob.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Whether the cluster-wide RBAC objects are made.
*/}}
{{- define "edge-ingress.clusterRBAC" -}}
{{- if and .Values.rbac.create (not .Values.rbac.scope) -}}true{{- end -}}
{{- end -}}

{{/*
The controller container's security context, from the image settings.
*/}}
{{- define "edge-ingress.controller.containerSecurityContext" -}}
runAsNonRoot: {{ .Values.controller.image.runAsNonRoot }}
runAsUser: {{ .Values.controller.image.runAsUser }}
runAsGroup: {{ .Values.controller.image.runAsGroup }}
allowPrivilegeEscalation: {{ or .Values.controller.image.allowPrivilegeEscalation .Values.controller.image.chroot }}
{{- with .Values.controller.image.seccompProfile }}
seccompProfile:
  {{- toYaml . | nindent 2 }}
{{- end }}
readOnlyRootFilesystem: {{ .Values.controller.image.readOnlyRootFilesystem }}
capabilities:
  drop:
    - ALL
  add:
    - NET_BIND_SERVICE
    {{- if .Values.controller.image.chroot }}
    - SYS_CHROOT
    {{- end }}
{{- end -}}

{{/*
The controller's command line: fixed flags, then the extraArgs map, sorted by name.
*/}}
{{- define "edge-ingress.params" -}}
- /edge-ingress-controller
{{- if .Values.defaultBackend.enabled }}
- --default-backend-service=$(POD_NAMESPACE)/{{ include "edge-ingress.defaultBackend.fullname" . }}
{{- end }}
{{- if and .Values.controller.publishService.enabled .Values.controller.service.enabled }}
- --publish-service={{ template "edge-ingress.controller.publishServicePath" . }}
{{- end }}
- --election-id={{ include "edge-ingress.controller.electionID" . }}
{{- with .Values.controller.electionTTL }}
- --election-ttl={{ . }}
{{- end }}
- --controller-class={{ .Values.controller.ingressClassResource.controllerValue }}
{{- if .Values.controller.ingressClass }}
- --ingress-class={{ .Values.controller.ingressClass }}
{{- end }}
- --configmap={{ default "$(POD_NAMESPACE)" .Values.controller.scope.namespace }}/{{ include "edge-ingress.controller.configMapName" . }}
{{- if .Values.tcp }}
- --tcp-services-configmap={{ default "$(POD_NAMESPACE)" .Values.controller.scope.namespace }}/{{ include "edge-ingress.fullname" . }}-tcp
{{- end }}
{{- if .Values.udp }}
- --udp-services-configmap={{ default "$(POD_NAMESPACE)" .Values.controller.scope.namespace }}/{{ include "edge-ingress.fullname" . }}-udp
{{- end }}
{{- if .Values.controller.scope.enabled }}
- --watch-namespace={{ default "$(POD_NAMESPACE)" .Values.controller.scope.namespace }}
{{- end }}
{{- if and (not .Values.controller.scope.enabled) .Values.controller.scope.namespaceSelector }}
- --watch-namespace-selector={{ .Values.controller.scope.namespaceSelector }}
{{- end }}
{{- if and .Values.controller.reportNodeInternalIp .Values.controller.hostNetwork }}
- --report-node-internal-ip-address={{ .Values.controller.reportNodeInternalIp }}
{{- end }}
{{- if .Values.controller.admissionWebhooks.enabled }}
- --validating-webhook=:{{ .Values.controller.admissionWebhooks.port }}
- --validating-webhook-certificate={{ .Values.controller.admissionWebhooks.certificate }}
- --validating-webhook-key={{ .Values.controller.admissionWebhooks.key }}
{{- end }}
{{- if .Values.controller.metrics.enabled }}
- --enable-metrics=true
- --metrics-per-host=false
{{- end }}
{{- if .Values.controller.watchIngressWithoutClass }}
- --watch-ingress-without-class=true
{{- end }}
{{- if .Values.controller.ingressClassByName }}
- --ingress-class-by-name=true
{{- end }}
{{- if .Values.controller.enableTopologyAwareRouting }}
- --enable-topology-aware-routing=true
{{- end }}
{{- if not (eq .Values.controller.healthCheckPath "/healthz") }}
- --health-check-path={{ .Values.controller.healthCheckPath }}
{{- end }}
{{- if .Values.controller.healthCheckHost }}
- --healthz-host={{ .Values.controller.healthCheckHost }}
{{- end }}
{{- if .Values.dhParam }}
- --ssl-dhparam={{ include "edge-ingress.namespace" . }}/{{ include "edge-ingress.fullname" . }}-dhparam
{{- end }}
{{- range $key, $value := .Values.controller.extraArgs }}
{{- /* An empty value is a flag without a value; a list repeats the flag. */ -}}
{{- $list := list -}}
{{- if kindIs "slice" $value -}}
{{- $list = $value -}}
{{- else -}}
{{- $list = append $list $value -}}
{{- end -}}
{{- range $list }}
{{- if eq (toString .) "" }}
- --{{ $key }}
{{- else }}
- --{{ $key }}={{ . }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
