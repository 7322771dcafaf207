{{/*
Combinations the services cannot run with. Each message says which values to change.
*/}}
{{- define "adseed.validate" -}}
{{- $v := .Values -}}
{{- $drainSeconds := div (add (int $v.grpc.drainTimeoutMs) 999) 1000 -}}
{{- $shutdownSeconds := add (int $v.preStopSleepSeconds) $drainSeconds 5 -}}
{{- if lt (int $v.terminationGracePeriodSeconds) (int $shutdownSeconds) -}}
{{- fail (printf "adseed: terminationGracePeriodSeconds=%d is shorter than a shutdown: preStopSleepSeconds (%d) + grpc.drainTimeoutMs (%d s) + 5 s for HTTP and Kafka: raise it to %d or lower those" (int $v.terminationGracePeriodSeconds) (int $v.preStopSleepSeconds) (int $drainSeconds) (int $shutdownSeconds)) -}}
{{- end -}}
{{- if and (not $v.kafka.enabled) (empty $v.externalKafka.brokers) -}}
{{- fail "adseed: no Kafka: set externalKafka.brokers (host:port list) or kafka.enabled=true" -}}
{{- end -}}
{{- if and (include "adseed.kafkaSasl" .) (empty $v.externalKafka.sasl.existingSecret) -}}
{{- fail (printf "adseed: externalKafka.sasl.mechanism=%s needs externalKafka.sasl.existingSecret (secret with %s and %s)" $v.externalKafka.sasl.mechanism $v.externalKafka.sasl.usernameKey $v.externalKafka.sasl.passwordKey) -}}
{{- end -}}
{{- if and (not $v.minio.enabled) (empty $v.externalMinio.endpoint) -}}
{{- fail "adseed: no object store: set externalMinio.endpoint or minio.enabled=true" -}}
{{- end -}}
{{- if and (not $v.minio.enabled) (empty $v.externalMinio.existingSecret) -}}
{{- fail "adseed: externalMinio.existingSecret is empty: name the secret holding the MinIO access and secret keys" -}}
{{- end -}}
{{- if and (eq $v.retrieval.index "qdrant") (not $v.qdrant.enabled) (empty $v.externalQdrant.url) -}}
{{- fail "adseed: retrieval.index=qdrant needs externalQdrant.url or qdrant.enabled=true" -}}
{{- end -}}
{{- if and (eq $v.retrieval.index "embedded") (or (gt (int $v.retrieval.replicaCount) 1) $v.retrieval.autoscaling.enabled) -}}
{{- fail "adseed: retrieval.index=embedded keeps the index inside one pod: set retrieval.replicaCount=1 and retrieval.autoscaling.enabled=false, or use index=qdrant" -}}
{{- end -}}
{{- if and (eq $v.embedding.encoder "triton") (not $v.triton.enabled) (empty $v.embedding.tritonEndpoints) -}}
{{- fail "adseed: embedding.encoder=triton but triton.enabled=false and embedding.tritonEndpoints is empty: enable Triton, list external endpoints, or use encoder=onnx" -}}
{{- end -}}
{{- if and (eq $v.generation.generator "replicate") (empty $v.generation.replicate.existingSecret) -}}
{{- fail "adseed: generation.generator=replicate needs generation.replicate.existingSecret (secret holding the API token)" -}}
{{- end -}}
{{- if and (eq $v.agent.llm "openai") (empty $v.agent.openai.existingSecret) -}}
{{- fail "adseed: agent.llm=openai needs agent.openai.existingSecret (secret holding the API key)" -}}
{{- end -}}
{{- if empty $v.gateway.apiKeys.existingSecret -}}
{{- fail "adseed: gateway.apiKeys.existingSecret is empty: the gateway refuses every request without API keys" -}}
{{- end -}}
{{- if and $v.gateway.ingress.tls.enabled (empty $v.gateway.ingress.hosts) -}}
{{- fail "adseed: gateway.ingress.tls.enabled needs gateway.ingress.hosts (the certificate's host names)" -}}
{{- end -}}
{{- if and $v.gateway.ingress.tls.enabled (not $v.gateway.ingress.enabled) -}}
{{- fail "adseed: gateway.ingress.tls.enabled has no effect without gateway.ingress.enabled=true" -}}
{{- end -}}
{{- range $component := list "gateway" "embedding" "retrieval" "agent" "generation" -}}
{{- $s := index $v $component -}}
{{- $ctx := dict "root" $ "component" $component "values" $s -}}
{{- if and $s.autoscaling.enabled (dig "keda" "enabled" false $s) -}}
{{- fail (printf "adseed: %s.autoscaling.enabled and %s.keda.enabled both scale the same Deployment: enable one" $component $component) -}}
{{- end -}}
{{- if and (dig "keda" "enabled" false $s) (gt (int $s.keda.minReplicas) (int $s.keda.maxReplicas)) -}}
{{- fail (printf "adseed: %s.keda.minReplicas (%d) is above %s.keda.maxReplicas (%d)" $component (int $s.keda.minReplicas) $component (int $s.keda.maxReplicas)) -}}
{{- end -}}
{{- $max := include "adseed.maxReplicas" $ctx | fromYaml -}}
{{- $narrowest := include "adseed.narrowestTopic" $ctx | fromYaml -}}
{{- if gt (int $max.replicas) (int $narrowest.partitions) -}}
{{- fail (printf "adseed: %s=%d is more than the %d partitions of %s, which %s consumes: replicas beyond it would get no work from it. Lower %s, or raise topics.partitions or topics.overrides (for new topics; existing topics keep their partitions)" $max.via (int $max.replicas) (int $narrowest.partitions) $narrowest.topic $component $max.via) -}}
{{- end -}}
{{- end -}}
{{- if $v.triton.enabled -}}
{{- $repo := $v.triton.modelRepository -}}
{{- if and (eq $repo.source "s3") (or (empty $repo.s3.url) (empty $repo.s3.existingSecret)) -}}
{{- fail "adseed: triton.modelRepository.source=s3 needs triton.modelRepository.s3.url (s3://host:port/bucket/path) and triton.modelRepository.s3.existingSecret" -}}
{{- end -}}
{{- if and (eq $repo.source "pvc") (empty $repo.pvc.existingClaim) -}}
{{- fail "adseed: triton.modelRepository.source=pvc needs triton.modelRepository.pvc.existingClaim" -}}
{{- end -}}
{{- range $v.triton.models -}}
{{- $max := int (default $v.triton.maxBatchSize .maxBatchSize) -}}
{{- $model := .name -}}
{{- range $v.triton.dynamicBatching.preferredBatchSizes -}}
{{- if gt (int .) $max -}}
{{- fail (printf "adseed: triton.dynamicBatching.preferredBatchSizes has %d, above the max batch size %d of model %s: Triton would refuse to load it" (int .) $max $model) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if empty $v.triton.models -}}
{{- fail "adseed: triton.models is empty: Triton would serve nothing (the embedding service expects clip_image and clip_text)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
