{{/*
One definition per object kind, shared by the five services. Each takes
  (dict "root" $ "component" "<service>" "values" (index $.Values "<service>"))
and services.yaml renders them in a loop.
*/}}

{{/* Non-secret environment of a service: the ConfigMap's data, also hashed into checksum/config. */}}
{{- define "adseed.service.configData" -}}
{{- $v := .root.Values -}}
{{- $s := .values -}}
PORT: "8080"
METRICS_PORT: {{ $v.metrics.port | int | toString | quote }}
LOG_LEVEL: {{ $v.logLevel | quote }}
ADSEED_BUS: "kafka"
KAFKA_CLIENT_ID: {{ printf "adseed-%s" .component | quote }}
KAFKA_BROKERS: {{ include "adseed.kafkaBrokers" .root | quote }}
KAFKA_SSL: {{ and (not $v.kafka.enabled) $v.externalKafka.tls | toString | quote }}
{{- if include "adseed.kafkaSasl" .root }}
KAFKA_SASL_MECHANISM: {{ $v.externalKafka.sasl.mechanism | quote }}
{{- end }}
KAFKA_TOPIC_PARTITIONS: {{ $v.topics.partitions | int | toString | quote }}
KAFKA_TOPIC_PARTITIONS_OVERRIDES: {{ include "adseed.topicOverridesEnv" .root | quote }}
ADSEED_STORE: "minio"
MINIO_ENDPOINT: {{ include "adseed.minioHost" .root | quote }}
MINIO_PORT: {{ include "adseed.minioPort" .root | quote }}
MINIO_USE_SSL: {{ include "adseed.minioUseSSL" .root | quote }}
MINIO_REGION: {{ $v.externalMinio.region | quote }}
ADSEED_DATA_DIR: "/data"
ADSEED_BUCKET_SEEDS: {{ $v.buckets.seeds | quote }}
ADSEED_BUCKET_BRANDS: {{ $v.buckets.brands | quote }}
ADSEED_BUCKET_ADS: {{ $v.buckets.ads | quote }}
ADSEED_BUCKET_STATE: {{ $v.buckets.state | quote }}
ADSEED_REQUEST_TIMEOUT_MS: {{ $v.grpc.requestTimeoutMs | int | toString | quote }}
GRPC_MAX_ATTEMPTS: {{ $v.grpc.maxAttempts | int | toString | quote }}
GRPC_DRAIN_TIMEOUT_MS: {{ $v.grpc.drainTimeoutMs | int | toString | quote }}
EMBEDDING_GRPC_URL: {{ include "adseed.grpcTarget" (dict "root" .root "component" "embedding") | quote }}
RETRIEVAL_GRPC_URL: {{ include "adseed.grpcTarget" (dict "root" .root "component" "retrieval") | quote }}
AGENT_GRPC_URL: {{ include "adseed.grpcTarget" (dict "root" .root "component" "agent") | quote }}
{{- if has .component (splitList " " (include "adseed.queryServiceNames" .)) }}
GRPC_PORT: {{ $v.grpc.port | int | toString | quote }}
{{- end }}
{{- with $v.telemetry.otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
OTEL_SERVICE_NAME: {{ printf "adseed-%s" .component | quote }}
OTEL_RESOURCE_ATTRIBUTES: {{ trimSuffix "," (printf "service.namespace=adseed,k8s.namespace.name=%s,service.version=%s,%s" .root.Release.Namespace .root.Chart.AppVersion $v.telemetry.resourceAttributes) | quote }}
{{- if eq .component "gateway" }}
ADSEED_MAX_UPLOAD_BYTES: {{ $s.maxUploadBytes | int64 | toString | quote }}
ADSEED_RATE_LIMIT_PER_SECOND: {{ $s.rateLimit.perSecond | toString | quote }}
ADSEED_RATE_LIMIT_BURST: {{ $s.rateLimit.burst | int64 | toString | quote }}
{{- else if eq .component "agent" }}
ADSEED_LLM: {{ $s.llm | quote }}
{{- if eq $s.llm "openai" }}
OPENAI_BASE_URL: {{ $s.openai.baseUrl | quote }}
OPENAI_MODEL: {{ $s.openai.model | quote }}
{{- end }}
{{- else if eq .component "embedding" }}
ADSEED_ENCODER: {{ $s.encoder | quote }}
{{- if eq $s.encoder "triton" }}
TRITON_ENDPOINTS: {{ include "adseed.tritonEndpoints" .root | quote }}
TRITON_FALLBACK_ONNX: {{ $s.onnxFallback | toString | quote }}
{{- end }}
ADSEED_CLIP_MODEL_DIR: {{ printf "/models/%s" $s.clipModelSubdir | quote }}
ADSEED_CAPTION_MODEL_DIR: {{ printf "/models/%s" $s.captionModelSubdir | quote }}
ADSEED_ENCODER_BATCH_SIZE: {{ $s.batchSize | toString | quote }}
{{- else if eq .component "retrieval" }}
ADSEED_INDEX: {{ $s.index | quote }}
{{- if eq $s.index "qdrant" }}
QDRANT_URL: {{ include "adseed.qdrantUrl" .root | quote }}
{{- end }}
{{- else if eq .component "generation" }}
ADSEED_GENERATOR: {{ $s.generator | quote }}
{{- if eq $s.generator "replicate" }}
REPLICATE_MODEL: {{ $s.replicate.model | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Environment read from existing secrets (the chart never holds a credential itself). */}}
{{- define "adseed.service.secretEnv" -}}
{{- $v := .root.Values -}}
{{- $s := .values -}}
{{- if include "adseed.kafkaSasl" .root }}
{{ include "adseed.secretEnv" (dict "name" "KAFKA_SASL_USERNAME" "secret" $v.externalKafka.sasl.existingSecret "key" $v.externalKafka.sasl.usernameKey) }}
{{ include "adseed.secretEnv" (dict "name" "KAFKA_SASL_PASSWORD" "secret" $v.externalKafka.sasl.existingSecret "key" $v.externalKafka.sasl.passwordKey) }}
{{- end }}
{{- $minio := include "adseed.minioSecret" .root | fromJsonArray }}
{{ include "adseed.secretEnv" (dict "name" "MINIO_ACCESS_KEY" "secret" (index $minio 0) "key" (index $minio 1)) }}
{{ include "adseed.secretEnv" (dict "name" "MINIO_SECRET_KEY" "secret" (index $minio 0) "key" (index $minio 2)) }}
{{- with $v.metrics.token.existingSecret }}
{{ include "adseed.secretEnv" (dict "name" "ADSEED_METRICS_TOKEN" "secret" . "key" $v.metrics.token.key) }}
{{- end }}
{{- if eq .component "gateway" }}
{{ include "adseed.secretEnv" (dict "name" "ADSEED_API_KEYS" "secret" $s.apiKeys.existingSecret "key" $s.apiKeys.key) }}
{{- else if and (eq .component "agent") (eq $s.llm "openai") }}
{{ include "adseed.secretEnv" (dict "name" "OPENAI_API_KEY" "secret" $s.openai.existingSecret "key" $s.openai.apiKeyKey) }}
{{- else if and (eq .component "retrieval") (eq $s.index "qdrant") (not $v.qdrant.enabled) $v.externalQdrant.existingSecret }}
{{ include "adseed.secretEnv" (dict "name" "QDRANT_API_KEY" "secret" $v.externalQdrant.existingSecret "key" $v.externalQdrant.apiKeyKey) }}
{{- else if and (eq .component "generation") (eq $s.generator "replicate") }}
{{ include "adseed.secretEnv" (dict "name" "REPLICATE_API_TOKEN" "secret" $s.replicate.existingSecret "key" $s.replicate.tokenKey) }}
{{- end }}
{{- end -}}

{{- define "adseed.service.serviceAccount" -}}
{{- if .root.Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "adseed.componentName" . }}
  labels:
    {{- include "adseed.labels" . | nindent 4 }}
  {{- with .root.Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .root.Values.serviceAccount.automountToken }}
{{- end }}
{{- end -}}

{{- define "adseed.service.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "adseed.componentName" . }}
  labels:
    {{- include "adseed.labels" . | nindent 4 }}
data:
  {{- include "adseed.service.configData" . | nindent 2 }}
{{- end -}}

{{/* Pulls the service's model tree into /models (embedding only: its encoders run ONNX in-process). */}}
{{- define "adseed.service.modelInitContainer" -}}
{{- $v := .root.Values -}}
{{- $mi := $v.modelInit -}}
- name: model-init
  image: {{ include "adseed.modelInitImage" .root | quote }}
  imagePullPolicy: {{ $mi.image.pullPolicy }}
  args: ["onnx", "/models"]
  env:
    - name: MODEL_SOURCE
      value: {{ $mi.source | quote }}
    - name: MODEL_FETCH_TIMEOUT_SECONDS
      value: {{ $mi.fetchTimeoutSeconds | toString | quote }}
    {{- if eq $mi.source "s3" }}
    {{- include "adseed.modelInitS3Env" .root | nindent 4 }}
    {{- end }}
  resources:
    {{- toYaml $mi.resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: models
      mountPath: /models
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/* Bucket settings of model-init in source=s3: its own secret, or the chart's MinIO. */}}
{{- define "adseed.modelInitS3Env" -}}
{{- $s3 := .Values.modelInit.s3 -}}
{{- $minio := include "adseed.minioSecret" . | fromJsonArray -}}
{{- $scheme := ternary "https" "http" (eq (include "adseed.minioUseSSL" .) "true") -}}
- name: S3_ENDPOINT
  value: {{ default (printf "%s://%s:%s" $scheme (include "adseed.minioHost" .) (include "adseed.minioPort" .)) $s3.endpoint | quote }}
- name: S3_BUCKET
  value: {{ $s3.bucket | quote }}
- name: S3_PREFIX
  value: {{ $s3.prefix | quote }}
{{- if $s3.existingSecret }}
{{ include "adseed.secretEnv" (dict "name" "S3_ACCESS_KEY" "secret" $s3.existingSecret "key" $s3.accessKeyKey) }}
{{ include "adseed.secretEnv" (dict "name" "S3_SECRET_KEY" "secret" $s3.existingSecret "key" $s3.secretKeyKey) }}
{{- else }}
{{ include "adseed.secretEnv" (dict "name" "S3_ACCESS_KEY" "secret" (index $minio 0) "key" (index $minio 1)) }}
{{ include "adseed.secretEnv" (dict "name" "S3_SECRET_KEY" "secret" (index $minio 0) "key" (index $minio 2)) }}
{{- end }}
{{- end -}}

{{- define "adseed.service.deployment" -}}
{{- $v := .root.Values -}}
{{- $s := .values -}}
{{- $withModels := eq .component "embedding" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "adseed.componentName" . }}
  labels:
    {{- include "adseed.labels" . | nindent 4 }}
spec:
  {{- if not (or $s.autoscaling.enabled (dig "keda" "enabled" false $s)) }}
  replicas: {{ $s.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "adseed.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "adseed.labels" . | nindent 8 }}
      annotations:
        # Rolls the pods when their configuration changes (secrets are references: rotate by restart).
        checksum/config: {{ include "adseed.service.configData" . | sha256sum }}
        {{- if $v.metrics.podAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $v.metrics.port | int | toString | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with $s.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- if $v.serviceAccount.create }}
      serviceAccountName: {{ include "adseed.componentName" . }}
      {{- end }}
      automountServiceAccountToken: {{ $v.serviceAccount.automountToken }}
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      {{- with $s.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $s.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $s.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $withModels }}
      initContainers:
        {{- include "adseed.service.modelInitContainer" . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "adseed.image" . | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
            - name: metrics
              containerPort: {{ $v.metrics.port }}
              protocol: TCP
            {{- if has .component (splitList " " (include "adseed.queryServiceNames" .)) }}
            - name: grpc
              containerPort: {{ $v.grpc.port }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "adseed.componentName" . }}
          env:
            {{- include "adseed.service.secretEnv" . | trim | nindent 12 }}
            {{- with $s.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- include "adseed.probes" (dict "root" .root "port" "http" "live" "/healthz" "ready" "/readyz") | nindent 10 }}
          {{- if gt (int $v.preStopSleepSeconds) 0 }}
          # Keeps serving while the pod leaves the endpoints (and the callers' DNS) before SIGTERM:
          # then gRPC health turns NOT_SERVING and the calls in flight drain (GRPC_DRAIN_TIMEOUT_MS).
          lifecycle:
            preStop:
              exec:
                command: ["sleep", {{ $v.preStopSleepSeconds | int | toString | quote }}]
          {{- end }}
          resources:
            {{- toYaml $s.resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: data
              mountPath: /data
            {{- if $withModels }}
            - name: models
              mountPath: /models
              readOnly: true
            {{- end }}
      volumes:
        {{- include "adseed.tmpVolume" . | nindent 8 }}
        # Scratch space only: state that must survive a restart lives in MinIO, Kafka or Qdrant.
        - name: data
          emptyDir:
            sizeLimit: {{ $v.dataDirSizeLimit }}
        {{- if $withModels }}
        - name: models
          emptyDir:
            sizeLimit: {{ $v.modelInit.sizeLimit }}
        {{- end }}
{{- end -}}

{{- define "adseed.service.service" -}}
{{- $isGateway := eq .component "gateway" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "adseed.componentName" . }}
  labels:
    {{- include "adseed.labels" . | nindent 4 }}
spec:
  type: {{ if $isGateway }}{{ .values.service.type }}{{ else }}ClusterIP{{ end }}
  selector:
    {{- include "adseed.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ if $isGateway }}{{ .values.service.port }}{{ else }}8080{{ end }}
      targetPort: http
      protocol: TCP
    {{- /* /metrics only (its own listener): for the ServiceMonitor, never a target of the Ingress.
    Left off a gateway Service that is exposed (LoadBalancer, NodePort): /metrics names tenants, and
    the pods' prometheus.io annotations still let Prometheus scrape it. */}}
    {{- if or (not $isGateway) (eq .values.service.type "ClusterIP") }}
    - name: metrics
      port: {{ .root.Values.metrics.port }}
      targetPort: metrics
      protocol: TCP
    {{- end }}
    {{- if has .component (splitList " " (include "adseed.queryServiceNames" .)) }}
    - name: grpc
      port: {{ .root.Values.grpc.port }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    {{- end }}
{{- end -}}

{{/*
Headless Service of a query service: DNS answers with every ready pod's address, and the callers'
gRPC channels (dns:///...-headless) balance each call over all of them (round_robin). A ClusterIP
Service would pin each long-lived HTTP/2 connection, and so every call, to one pod.
*/}}
{{- define "adseed.service.headless" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "adseed.componentName" . }}-headless
  labels:
    {{- include "adseed.labels" . | nindent 4 }}
spec:
  clusterIP: None
  selector:
    {{- include "adseed.selectorLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ .root.Values.grpc.port }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
{{- end -}}

{{/*
Ingress: the gateway takes traffic from gatewayFrom peers (default anyone: it is the public edge),
the other services only from the release's pods; metricsFrom peers may scrape everyone's metrics
port (and nothing else: /metrics is served on its own port only).
Egress is open unless allowExternalEgress is false.
*/}}
{{- define "adseed.service.networkPolicy" -}}
{{- $np := .root.Values.networkPolicy -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "adseed.componentName" . }}
  labels:
    {{- include "adseed.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "adseed.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    {{- if not $np.allowExternalEgress }}
    - Egress
    {{- end }}
  ingress:
    - ports:
        - port: http
          protocol: TCP
        {{- if has .component (splitList " " (include "adseed.queryServiceNames" .)) }}
        - port: grpc
          protocol: TCP
        {{- end }}
      {{- if eq .component "gateway" }}
      {{- with $np.gatewayFrom }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- else }}
      from:
        - podSelector:
            matchLabels:
              {{- include "adseed.releasePodLabels" .root | nindent 14 }}
      {{- end }}
    {{- with $np.metricsFrom }}
    - ports:
        - port: metrics
          protocol: TCP
      from:
        {{- toYaml . | nindent 8 }}
    {{- end }}
  {{- if not $np.allowExternalEgress }}
  egress:
    - ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    - to:
        - podSelector:
            matchLabels:
              {{- include "adseed.releasePodLabels" .root | nindent 14 }}
    {{- with $np.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end -}}
