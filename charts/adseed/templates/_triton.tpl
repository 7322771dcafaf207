{{/*
config.pbtxt of each served model, keyed <name>.pbtxt. Inputs and outputs are left to Triton's
auto-complete from the ONNX file (deploy/triton/model_repository spells them out for the
same exports); this sets batching and placement only.
*/}}
{{- define "adseed.triton.modelConfigs" -}}
{{- $t := .Values.triton -}}
{{- range $t.models }}
{{ .name }}.pbtxt: |
  name: "{{ .name }}"
  backend: "onnxruntime"
  max_batch_size: {{ default $t.maxBatchSize .maxBatchSize }}
  dynamic_batching {
    {{- with $t.dynamicBatching.preferredBatchSizes }}
    preferred_batch_size: [ {{ join ", " . }} ]
    {{- end }}
    max_queue_delay_microseconds: {{ $t.dynamicBatching.maxQueueDelayMicroseconds }}
  }
  instance_group [ { count: {{ $t.instanceCount }}, kind: {{ ternary "KIND_GPU" "KIND_CPU" (gt (int $t.gpus) 0) }} } ]
  version_policy: { latest: { num_versions: 1 } }
{{- end }}
{{- end -}}
