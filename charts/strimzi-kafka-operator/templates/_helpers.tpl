{{/*
Helpers of the chart. The templates keep to the subset of Go templates that tests/Operator.Chart.Tests renders
(README.md, "Testing without helm").
*/}}

{{/* Labels every object of the chart carries (Strimzi's app/chart/release/heritage). */}}
{{- define "strimzi.labels" -}}
app: {{ .Chart.Name }}
chart: {{ .Chart.Name }}-{{ .Chart.Version }}
release: {{ .Release.Name }}
heritage: {{ .Release.Service }}
{{- end -}}

{{/* <registry>/<repository>/<name>:<tag> of an image map; called with (dict "image" <map> "defaultTag" <tag>). */}}
{{- define "strimzi.image" -}}
{{- with .image.registry }}{{ . }}/{{ end -}}
{{- with .image.repository }}{{ . }}/{{ end -}}
{{ .image.name }}:{{ default .defaultTag .image.tag }}
{{- end -}}

{{/*
STRIMZI_NAMESPACE when watchNamespaces is set: those namespaces and the release namespace, comma-separated, the
release namespace once even when listed.
*/}}
{{- define "strimzi.watchedNamespaces" -}}
{{- range .Values.watchNamespaces }}{{ if ne . $.Release.Namespace }}{{ . }},{{ end }}{{ end -}}
{{ .Release.Namespace }}
{{- end -}}

{{/*
A binding of one of the operator's ClusterRoles, called with (dict "root" $ "role" <ClusterRole> "name" <binding>
"namespace" <namespace or "">): a RoleBinding in that namespace, or a ClusterRoleBinding when the namespace is "".
*/}}
{{- define "strimzi.binding" -}}
apiVersion: rbac.authorization.k8s.io/v1
{{- if .namespace }}
kind: RoleBinding
{{- else }}
kind: ClusterRoleBinding
{{- end }}
metadata:
  name: {{ .name }}
  {{- if .namespace }}
  namespace: {{ .namespace }}
  {{- end }}
  labels:
    {{- include "strimzi.labels" .root | nindent 4 }}
    component: role-binding
subjects:
  - kind: ServiceAccount
    name: strimzi-cluster-operator
    namespace: {{ .root.Release.Namespace }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ .role }}
{{- end -}}
