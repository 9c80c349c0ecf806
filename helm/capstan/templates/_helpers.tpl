{{/*
Names, labels, images and the PKI mounts every template shares.
*/}}

{{- define "capstan.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "capstan.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* selector labels of one component: (dict "root" $ "component" "scheduler") */}}
{{- define "capstan.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* an image: (dict "root" $ "name" "apiserver") */}}
{{- define "capstan.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if .root.Values.image.registry -}}
{{- printf "%s/capstan/%s:%s" .root.Values.image.registry .name $tag -}}
{{- else -}}
{{- printf "capstan/%s:%s" .name $tag -}}
{{- end -}}
{{- end -}}

{{- define "capstan.pkiSecret" -}}
{{- .Values.pki.existingSecret | default (printf "%s-pki" (include "capstan.fullname" .)) -}}
{{- end -}}

{{- define "capstan.apiserverHost" -}}
{{- printf "%s-apiserver.%s.svc" (include "capstan.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "capstan.apiserverURL" -}}
{{- printf "https://%s:%v" (include "capstan.apiserverHost" .) .Values.apiserver.service.port -}}
{{- end -}}

{{/*
The PKI volume of one component: only the files it needs, from the Secret
(kubeconfigs are flattened to kubeconfig-NAME.conf keys there, since a
Secret's keys hold no slash). (dict "root" $ "files" (list ...) "kubeconfigs" (list ...))
*/}}
{{- define "capstan.pkiVolume" -}}
- name: pki
  secret:
    secretName: {{ include "capstan.pkiSecret" .root }}
    defaultMode: 0400
    items:
    {{- range .files }}
      - key: {{ . }}
        path: {{ . }}
    {{- end }}
    {{- range .kubeconfigs }}
      - key: kubeconfig-{{ . }}.conf
        path: kubeconfigs/{{ . }}.conf
    {{- end }}
{{- end -}}

{{/*
The pod annotations that roll a component when its inputs change: its own
values, the images' tag and the PKI Secret it reads.
(dict "root" $ "values" .Values.scheduler)
*/}}
{{- define "capstan.checksums" -}}
checksum/config: {{ list .values .root.Values.image (include "capstan.pkiSecret" .root) | toJson | sha256sum }}
{{- end -}}

{{/* exec probe on a component's own gRPC health: (dict "url" URL "ca" CA_FILE_OR_EMPTY) */}}
{{- define "capstan.probe" -}}
exec:
  command:
    - /usr/local/bin/capstan-probe
    - --url
    - {{ .url }}
    {{- with .ca }}
    - --ca-file
    - {{ . }}
    {{- end }}
{{- end -}}
