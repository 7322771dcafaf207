{{/*
Naming and labels. Every object is <fullname>-<component>; components are the five services and
"triton".
*/}}
{{- define "adseed.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "adseed.fullname" -}}
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

{{/* The services built from docker/Dockerfile, in a fixed order. */}}
{{- define "adseed.serviceNames" -}}
gateway agent embedding retrieval generation
{{- end -}}

{{/* The services that answer queries over gRPC (a grpc port, a headless Service each). */}}
{{- define "adseed.queryServiceNames" -}}
embedding retrieval agent
{{- end -}}

{{/* A query service's gRPC target for the callers: dns:/// over its headless Service, so the client balances over every pod. */}}
{{- define "adseed.grpcTarget" -}}
{{- printf "dns:///%s-headless.%s.svc:%d" (include "adseed.componentName" .) .root.Release.Namespace (int .root.Values.grpc.port) -}}
{{- end -}}

{{/* (dict "root" $ "component" "gateway") */}}
{{- define "adseed.componentName" -}}
{{- printf "%s-%s" (include "adseed.fullname" .root | trunc 50 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "adseed.selectorLabels" -}}
app.kubernetes.io/name: {{ include "adseed.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "adseed.labels" -}}
{{ include "adseed.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: adseed
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels every pod of the release carries: the peer selector of the NetworkPolicies. */}}
{{- define "adseed.releasePodLabels" -}}
app.kubernetes.io/name: {{ include "adseed.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* (dict "root" $ "component" "gateway") */}}
{{- define "adseed.image" -}}
{{- $img := .root.Values.image -}}
{{- $repo := printf "%s-%s" $img.repository .component -}}
{{- if $img.registry }}{{ $repo = printf "%s/%s" $img.registry $repo }}{{ end -}}
{{- $digest := get $img.digests .component -}}
{{- if $digest -}}
{{- printf "%s@%s" $repo $digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{- define "adseed.modelInitImage" -}}
{{- printf "%s:%s" .Values.modelInit.image.repository (default .Chart.AppVersion .Values.modelInit.image.tag) -}}
{{- end -}}

{{- define "adseed.tritonImage" -}}
{{- $img := .Values.triton.image -}}
{{- if $img.digest }}{{ printf "%s@%s" $img.repository $img.digest }}{{ else }}{{ printf "%s:%s" $img.repository $img.tag }}{{ end -}}
{{- end -}}

{{/*
Names of the optional subcharts' objects, as their charts derive them (release name, suffixed with
the chart name unless the release name contains it). The templates use only these conventional
names, never the subcharts themselves, so the chart renders without `helm dependency build`.
(dict "root" $ "chart" "kafka")
*/}}
{{- define "adseed.subchartFullname" -}}
{{- $override := (get (get .root.Values .chart | default dict) "fullnameOverride") -}}
{{- if $override -}}
{{- $override | trunc 63 | trimSuffix "-" -}}
{{- else if contains .chart .root.Release.Name -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .root.Release.Name .chart | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "adseed.kafkaBrokers" -}}
{{- if .Values.kafka.enabled -}}
{{- printf "%s:9092" (include "adseed.subchartFullname" (dict "root" . "chart" "kafka")) -}}
{{- else -}}
{{- join "," .Values.externalKafka.brokers -}}
{{- end -}}
{{- end -}}

{{/* SASL applies to external Kafka only: the in-release broker is configured for PLAINTEXT. */}}
{{- define "adseed.kafkaSasl" -}}
{{- if and (not .Values.kafka.enabled) (ne .Values.externalKafka.sasl.mechanism "none") -}}true{{- end -}}
{{- end -}}

{{- define "adseed.minioHost" -}}
{{- if .Values.minio.enabled -}}
{{- include "adseed.subchartFullname" (dict "root" . "chart" "minio") -}}
{{- else -}}
{{- .Values.externalMinio.endpoint -}}
{{- end -}}
{{- end -}}

{{- define "adseed.minioPort" -}}
{{- if .Values.minio.enabled }}9000{{ else }}{{ .Values.externalMinio.port }}{{ end -}}
{{- end -}}

{{- define "adseed.minioUseSSL" -}}
{{- if .Values.minio.enabled }}false{{ else }}{{ .Values.externalMinio.useSSL }}{{ end -}}
{{- end -}}

{{/* Secret and keys of the MinIO credentials: (list secret accessKeyKey secretKeyKey) as JSON. */}}
{{- define "adseed.minioSecret" -}}
{{- if .Values.minio.enabled -}}
{{- list (include "adseed.subchartFullname" (dict "root" . "chart" "minio")) "root-user" "root-password" | toJson -}}
{{- else -}}
{{- list .Values.externalMinio.existingSecret .Values.externalMinio.accessKeyKey .Values.externalMinio.secretKeyKey | toJson -}}
{{- end -}}
{{- end -}}

{{- define "adseed.qdrantUrl" -}}
{{- if .Values.qdrant.enabled -}}
{{- printf "http://%s:6333" (include "adseed.subchartFullname" (dict "root" . "chart" "qdrant")) -}}
{{- else -}}
{{- .Values.externalQdrant.url -}}
{{- end -}}
{{- end -}}

{{- define "adseed.tritonEndpoints" -}}
{{- if .Values.triton.enabled -}}
{{- printf "%s:8001" (include "adseed.componentName" (dict "root" . "component" "triton")) -}}
{{- else -}}
{{- join "," .Values.embedding.tritonEndpoints -}}
{{- end -}}
{{- end -}}

{{- define "adseed.ingressTlsSecret" -}}
{{- default (printf "%s-tls" (include "adseed.componentName" (dict "root" . "component" "gateway"))) .Values.gateway.ingress.tls.secretName -}}
{{- end -}}

{{/*
The one probe definition: an HTTP GET on a named port, timings from values.
(dict "path" "/healthz" "port" "http" "settings" .Values.probes.liveness)
*/}}
{{- define "adseed.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
periodSeconds: {{ .settings.periodSeconds }}
timeoutSeconds: {{ .settings.timeoutSeconds }}
failureThreshold: {{ .settings.failureThreshold }}
{{- end -}}

{{/* Liveness, readiness and startup probes of a container: (dict "root" $ "port" "http" "live" "/healthz" "ready" "/readyz") */}}
{{- define "adseed.probes" -}}
{{- $p := .root.Values.probes -}}
livenessProbe:
  {{- include "adseed.probe" (dict "path" .live "port" .port "settings" $p.liveness) | nindent 2 }}
readinessProbe:
  {{- include "adseed.probe" (dict "path" .ready "port" .port "settings" $p.readiness) | nindent 2 }}
startupProbe:
  {{- include "adseed.probe" (dict "path" .live "port" .port "settings" $p.startup) | nindent 2 }}
{{- end -}}

{{/* Env entries reading one key of a secret: (dict "name" "ENV" "secret" "s" "key" "k") */}}
{{- define "adseed.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret | quote }}
      key: {{ .key | quote }}
{{- end -}}

{{/* autoscaling/v2 HorizontalPodAutoscaler: (dict "root" $ "component" "gateway" "autoscaling" $values.autoscaling) */}}
{{- define "adseed.hpa" -}}
{{- $as := .autoscaling -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "adseed.componentName" . }}
  labels:
    {{- include "adseed.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "adseed.componentName" . }}
  minReplicas: {{ $as.minReplicas }}
  maxReplicas: {{ $as.maxReplicas }}
  metrics:
  {{- if $as.metrics }}
    {{- toYaml $as.metrics | nindent 4 }}
  {{- else }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $as.targetCPUUtilizationPercentage }}
  {{- end }}
{{- end -}}

{{/* policy/v1 PodDisruptionBudget: (dict "root" $ "component" "gateway" "pdb" $values.pdb) */}}
{{- define "adseed.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "adseed.componentName" . }}
  labels:
    {{- include "adseed.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "adseed.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/* Volumes every pod gets: a writable /tmp under a read-only root filesystem. */}}
{{- define "adseed.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}

{{/* "name=source name=source" for model-init's TRITON_MODELS. */}}
{{- define "adseed.tritonModelSources" -}}
{{- $pairs := list -}}
{{- range .Values.triton.models -}}
{{- $pairs = append $pairs (printf "%s=%s" .name .source) -}}
{{- end -}}
{{- join " " $pairs -}}
{{- end -}}
