{{/* The one name of every object (RBAC rules name some of them). */}}
{{- define "piw.name" -}}pod-identity-webhook{{- end -}}

{{- define "piw.labels" -}}
app.kubernetes.io/name: {{ include "piw.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* A value as a flag value: numbers without exponents (Helm reads YAML numbers as floats). */}}
{{- define "piw.flagValue" -}}
{{- if kindIs "float64" . -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- end -}}

{{/* `serve` flags: .Values.serve, with the certificate flags `certificates:` implies where unset. */}}
{{- define "piw.serveFlags" -}}
{{- $flags := deepCopy .Values.serve -}}
{{- $name := include "piw.name" . -}}
{{- $certificates := .Values.certificates -}}
{{- if kindIs "invalid" (index $flags "webhook-configuration") -}}{{- $_ := set $flags "webhook-configuration" $name -}}{{- end -}}
{{- if eq $certificates.mode "self-managed" -}}
  {{- if kindIs "invalid" (index $flags "certificate-mode") -}}{{- $_ := set $flags "certificate-mode" "self-managed" -}}{{- end -}}
  {{- $secret := printf "%s/%s" .Release.Namespace $certificates.selfManaged.secretName -}}
  {{- if and (kindIs "invalid" (index $flags "certificate-secret")) (ne $secret (printf "%s/%s-certs" $name $name)) -}}{{- $_ := set $flags "certificate-secret" $secret -}}{{- end -}}
  {{- if and (kindIs "invalid" (index $flags "certificate-validity")) (ne (int64 $certificates.selfManaged.validitySeconds) 7776000) -}}{{- $_ := set $flags "certificate-validity" $certificates.selfManaged.validitySeconds -}}{{- end -}}
  {{- if and (kindIs "invalid" (index $flags "certificate-check-interval")) (ne (int64 $certificates.selfManaged.checkIntervalSeconds) 60) -}}{{- $_ := set $flags "certificate-check-interval" $certificates.selfManaged.checkIntervalSeconds -}}{{- end -}}
{{- else if or (eq $certificates.mode "cert-manager") (eq $certificates.mode "manual") -}}
  {{- if kindIs "invalid" (index $flags "tls-cert") -}}{{- $_ := set $flags "tls-cert" "/etc/webhook/certs/tls.crt" -}}{{- end -}}
  {{- if kindIs "invalid" (index $flags "tls-key") -}}{{- $_ := set $flags "tls-key" "/etc/webhook/certs/tls.key" -}}{{- end -}}
{{- else -}}
  {{- fail (printf "certificates.mode must be self-managed, cert-manager or manual, not %q" $certificates.mode) -}}
{{- end -}}
{{- if and .Values.roleMapping.enabled (kindIs "invalid" (index $flags "watch-config-map")) -}}{{- $_ := set $flags "watch-config-map" (printf "%s/%s-roles" .Release.Namespace $name) -}}{{- end -}}
{{- range $flag := keys $flags | sortAlpha }}
{{- $value := index $flags $flag }}
{{- if not (kindIs "invalid" $value) }}
- {{ printf "--%s=%s" $flag (include "piw.flagValue" $value) | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The certificate Secret cert-manager writes and the Deployment mounts (cert-manager and manual modes). */}}
{{- define "piw.tlsSecret" -}}{{ include "piw.name" . }}-tls{{- end -}}
