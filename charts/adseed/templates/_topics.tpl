{{/*
The Kafka topics each service consumes in shared consumer groups, by group, with the partitions
the code creates them with (libs/contracts defineTopic). scripts/chart/check-topics.js
checks this table against the code's subscriptions, groups and partitions. A replica beyond the
partitions of a topic gets none of that topic's work, so the chart keeps replicas <= the smallest
partition count among a service's topics. Per-instance groups (the gateway's SSE fan-out of
conversation and job updates) are not listed: every replica reads those in full.
*/}}
{{- define "adseed.consumedTopics" -}}
gateway:
  gateway-jobs:
    adseed.generation.ad-generated.v1: 6
    adseed.generation.ad-failed.v1: 6
embedding:
  embedding:
    adseed.asset.ingest-requested.v1: 16
  embedding-storage-bridge:
    adseed.storage.object-events.v1: 3
retrieval:
  retrieval:
    adseed.asset.embedded.v1: 6
    adseed.asset.deleted.v1: 3
agent:
  agent:
    adseed.generation.single-ad-completed.v1: 6
  agent-catalogue:
    adseed.asset.indexed.v1: 3
    adseed.asset.deleted.v1: 3
generation:
  generation:
    adseed.generation.single-ad-requested.v1: 6
  generation-jobs:
    adseed.generation.ad-requested.v1: 12
{{- end -}}

{{/* Partitions of one topic: (dict "root" $ "topic" name "builtin" n) -> topics.overrides, else topics.partitions, else built-in. */}}
{{- define "adseed.topicPartitions" -}}
{{- $t := .root.Values.topics -}}
{{- $p := int .builtin -}}
{{- if gt (int $t.partitions) 0 }}{{ $p = int $t.partitions }}{{ end -}}
{{- if hasKey $t.overrides .topic }}{{ $p = int (index $t.overrides .topic) }}{{ end -}}
{{- $p -}}
{{- end -}}

{{/* The consumed topic with the fewest partitions: (dict "root" $ "component" c) -> YAML {topic, partitions}; empty for non-consumers. */}}
{{- define "adseed.narrowestTopic" -}}
{{- $root := .root -}}
{{- $groups := index (include "adseed.consumedTopics" . | fromYaml) .component -}}
{{- if $groups -}}
{{- $min := -1 -}}
{{- $which := "" -}}
{{- range $group, $topics := $groups -}}
{{- range $topic, $builtin := $topics -}}
{{- $p := int (include "adseed.topicPartitions" (dict "root" $root "topic" $topic "builtin" $builtin)) -}}
{{- if or (lt $min 0) (lt $p $min) }}{{ $min = $p }}{{ $which = $topic }}{{ end -}}
{{- end -}}
{{- end -}}
topic: {{ $which }}
partitions: {{ $min }}
{{- end -}}
{{- end -}}

{{/* The largest replica count a service can reach: (dict "root" $ "component" c "values" v) -> YAML {replicas, via}. */}}
{{- define "adseed.maxReplicas" -}}
{{- $s := .values -}}
{{- if dig "keda" "enabled" false $s -}}
replicas: {{ int $s.keda.maxReplicas }}
via: {{ printf "%s.keda.maxReplicas" .component }}
{{- else if $s.autoscaling.enabled -}}
replicas: {{ int $s.autoscaling.maxReplicas }}
via: {{ printf "%s.autoscaling.maxReplicas" .component }}
{{- else -}}
replicas: {{ int $s.replicaCount }}
via: {{ printf "%s.replicaCount" .component }}
{{- end -}}
{{- end -}}

{{/* KAFKA_TOPIC_PARTITIONS_OVERRIDES: `topic=n,...` in name order. */}}
{{- define "adseed.topicOverridesEnv" -}}
{{- $o := .Values.topics.overrides -}}
{{- $pairs := list -}}
{{- range $topic := keys $o | sortAlpha -}}
{{- $pairs = append $pairs (printf "%s=%d" $topic (int (index $o $topic))) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/*
KEDA ScaledObject scaling a consumer on its groups' lag, one trigger per group over all the topics
the group consumes (no `topic`: KEDA sums the group's lag and caps replicas at the group's
partitions; the HPA follows the busiest trigger), and the TriggerAuthentication that carries the
Kafka SASL credentials when there are any.
*/}}
{{- define "adseed.kedaScaledObject" -}}
{{- $v := .root.Values -}}
{{- $k := .values.keda -}}
{{- $root := .root -}}
{{- $groups := index (include "adseed.consumedTopics" . | fromYaml) .component -}}
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ include "adseed.componentName" . }}
  labels:
    {{- include "adseed.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "adseed.componentName" . }}
  minReplicaCount: {{ $k.minReplicas }}
  maxReplicaCount: {{ $k.maxReplicas }}
  pollingInterval: {{ $k.pollingInterval }}
  cooldownPeriod: {{ $k.cooldownPeriod }}
  triggers:
    {{- range $group := keys $groups | sortAlpha }}
    - type: kafka
      metadata:
        bootstrapServers: {{ include "adseed.kafkaBrokers" $root | quote }}
        consumerGroup: {{ $group | quote }}
        lagThreshold: {{ $k.lagThreshold | toString | quote }}
        offsetResetPolicy: earliest
        allowIdleConsumers: "false"
        {{- if and (not $v.kafka.enabled) $v.externalKafka.tls }}
        tls: enable
        {{- end }}
        {{- if include "adseed.kafkaSasl" $root }}
        sasl: {{ get (dict "plain" "plaintext" "scram-sha-256" "scram_sha256" "scram-sha-512" "scram_sha512") $v.externalKafka.sasl.mechanism | quote }}
        {{- end }}
      {{- if include "adseed.kafkaSasl" $root }}
      authenticationRef:
        name: {{ printf "%s-kafka" (include "adseed.fullname" $root) }}
      {{- end }}
    {{- end }}
{{- end -}}

{{- define "adseed.kedaTriggerAuthentication" -}}
{{- $sasl := .Values.externalKafka.sasl -}}
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: {{ printf "%s-kafka" (include "adseed.fullname" .) }}
  labels:
    {{- include "adseed.labels" (dict "root" . "component" "kafka-auth") | nindent 4 }}
spec:
  secretTargetRef:
    - parameter: username
      name: {{ $sasl.existingSecret | quote }}
      key: {{ $sasl.usernameKey | quote }}
    - parameter: password
      name: {{ $sasl.existingSecret | quote }}
      key: {{ $sasl.passwordKey | quote }}
{{- end -}}
