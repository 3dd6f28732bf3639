{{- define "marathon-operator.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "marathon-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "marathon-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "marathon-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "marathon-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "marathon-operator.labels" -}}
{{ include "marathon-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret holding the Marathon API credentials: the user's or the generated one. */}}
{{- define "marathon-operator.authSecretName" -}}
{{- .Values.api.auth.existingSecret | default (printf "%s-auth" (include "marathon-operator.fullname" .)) -}}
{{- end -}}

{{- define "marathon-operator.authEnabled" -}}
{{- if ne .Values.api.auth.mode "off" }}true{{ end -}}
{{- end -}}

{{/* Namespace the Marathon API writes new apps into. */}}
{{- define "marathon-operator.marathonNamespace" -}}
{{- .Values.marathonNamespace | default .Release.Namespace -}}
{{- end -}}

{{/* Where the auth Secret is mounted; MARATHON_API_AUTH_DIR points here. */}}
{{- define "marathon-operator.authDir" -}}/etc/marathon-operator/auth{{- end -}}

{{/* The leader-election Lease: leaderElection.leaseName, else one per watched namespace set,
     named as the operator derives it (config.rs `lease_name`), so releases sharded by
     namespace elect their leaders on Leases of their own. */}}
{{- define "marathon-operator.leaseName" -}}
{{- if .Values.leaderElection.leaseName -}}
{{- .Values.leaderElection.leaseName -}}
{{- else if .Values.watchNamespaces -}}
{{- printf "marathon-operator-leader.%s" (join "." (sortAlpha (uniq .Values.watchNamespaces))) -}}
{{- else -}}
marathon-operator-leader
{{- end -}}
{{- end -}}
