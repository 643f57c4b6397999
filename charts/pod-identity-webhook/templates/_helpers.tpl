{{/* The app's name (app.kubernetes.io/name): the chart's, unless nameOverride. */}}
{{- define "piw.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name of every object of the release (RBAC rules, flags and certificates name some of them):
fullnameOverride, else the app's name. Two releases therefore need different fullnameOverride
values; "piw.checkOwnership" refuses a second one that would take the first one's names.
*/}}
{{- define "piw.fullname" -}}
{{- default (include "piw.name" .) .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* What selects this release's pods (Deployment, Service, PDB, NetworkPolicy, ServiceMonitor, topology spread). */}}
{{- define "piw.selectorLabels" -}}
app.kubernetes.io/name: {{ include "piw.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "piw.labels" -}}
{{ include "piw.selectorLabels" . }}
app.kubernetes.io/version: {{ include "piw.scalar" .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The `helm test` pod's labels: not the selector labels (the Service, the PDB and the spread must not count it). */}}
{{- define "piw.testLabels" -}}
app.kubernetes.io/name: {{ include "piw.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: helm-test
{{- end -}}

{{/* A scalar as text: whole numbers without exponents (Helm reads numbers in values files as floats). */}}
{{- define "piw.scalar" -}}
{{- if kindIs "float64" . -}}{{ int64 . }}{{- else -}}{{ toString . }}{{- end -}}
{{- end -}}

{{/* The container image: repository:tag (the tag defaults to the chart's appVersion), or repository@digest. */}}
{{- define "piw.image" -}}
{{- $image := .Values.image -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (include "piw.scalar" (default .Chart.AppVersion $image.tag)) -}}
{{- end -}}
{{- end -}}

{{/* The Secret the self-managed webhook keeps its CA and certificate in. */}}
{{- define "piw.selfManagedSecret" -}}
{{- default (printf "%s-certs" (include "piw.fullname" .)) .Values.certificates.selfManaged.secretName -}}
{{- end -}}

{{/* Whether the PodDisruptionBudget can be satisfied: enabled, and more replicas than it keeps available. */}}
{{- define "piw.pdbEnabled" -}}
{{- if and .Values.podDisruptionBudget.enabled (gt (int64 .Values.replicas) (int64 .Values.podDisruptionBudget.minAvailable)) -}}true{{- end -}}
{{- end -}}

{{/*
Refuses to take over another installation's objects: the MutatingWebhookConfiguration named like
this release's, when it exists and belongs to another release (or to no release: kubectl apply -k),
would make Helm stop with an ownership error after the first objects. `lookup` answers only when
Helm talks to a cluster (install, upgrade, --dry-run=server); `helm template` renders as usual.
*/}}
{{- define "piw.checkOwnership" -}}
{{- $name := include "piw.fullname" . -}}
{{- $existing := lookup "admissionregistration.k8s.io/v1" "MutatingWebhookConfiguration" "" $name -}}
{{- if $existing -}}
{{- $annotations := default dict $existing.metadata.annotations -}}
{{- $release := index $annotations "meta.helm.sh/release-name" | default "" -}}
{{- $namespace := index $annotations "meta.helm.sh/release-namespace" | default "" -}}
{{- if not $release -}}
{{- fail (printf "the MutatingWebhookConfiguration %q already exists and no Helm release owns it (installed with kubectl apply -k or by hand?): remove that installation first, or give this release other names with --set fullnameOverride=NAME" $name) -}}
{{- else if or (ne $release .Release.Name) (ne $namespace .Release.Namespace) -}}
{{- fail (printf "release %q in namespace %q already installs the webhook under the name %q: give this release other names with --set fullnameOverride=NAME (docs/install.md, \"A second release\")" $release $namespace $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* `serve` flags: .Values.serve, with the flags the chart implies (names, certificates) where unset. */}}
{{- define "piw.serveFlags" -}}
{{- $flags := deepCopy .Values.serve -}}
{{- $fullname := include "piw.fullname" . -}}
{{- $certificates := .Values.certificates -}}
{{- if kindIs "invalid" (index $flags "webhook-configuration") -}}{{- $_ := set $flags "webhook-configuration" $fullname -}}{{- end -}}
{{- if eq $certificates.mode "self-managed" -}}
  {{- if kindIs "invalid" (index $flags "certificate-mode") -}}{{- $_ := set $flags "certificate-mode" "self-managed" -}}{{- end -}}
  {{- /* Flags equal to the webhook's defaults are left out (the chart renders what the kustomizations do). */ -}}
  {{- $secret := printf "%s/%s" .Release.Namespace (include "piw.selfManagedSecret" .) -}}
  {{- if and (kindIs "invalid" (index $flags "certificate-secret")) (ne $secret "pod-identity-webhook/pod-identity-webhook-certs") -}}{{- $_ := set $flags "certificate-secret" $secret -}}{{- end -}}
  {{- if and (kindIs "invalid" (index $flags "certificate-service")) (ne $fullname "pod-identity-webhook") -}}{{- $_ := set $flags "certificate-service" $fullname -}}{{- end -}}
  {{- if and (kindIs "invalid" (index $flags "certificate-validity")) (ne (int64 $certificates.selfManaged.validitySeconds) 7776000) -}}{{- $_ := set $flags "certificate-validity" $certificates.selfManaged.validitySeconds -}}{{- end -}}
  {{- if and (kindIs "invalid" (index $flags "certificate-check-interval")) (ne (int64 $certificates.selfManaged.checkIntervalSeconds) 60) -}}{{- $_ := set $flags "certificate-check-interval" $certificates.selfManaged.checkIntervalSeconds -}}{{- end -}}
{{- else -}}
  {{- if kindIs "invalid" (index $flags "tls-cert") -}}{{- $_ := set $flags "tls-cert" "/etc/webhook/certs/tls.crt" -}}{{- end -}}
  {{- if kindIs "invalid" (index $flags "tls-key") -}}{{- $_ := set $flags "tls-key" "/etc/webhook/certs/tls.key" -}}{{- end -}}
{{- end -}}
{{- if and .Values.roleMapping.enabled (kindIs "invalid" (index $flags "watch-config-map")) -}}{{- $_ := set $flags "watch-config-map" (printf "%s/%s-roles" .Release.Namespace $fullname) -}}{{- end -}}
{{- range $flag := keys $flags | sortAlpha }}
{{- $value := index $flags $flag }}
{{- if not (kindIs "invalid" $value) }}
- {{ printf "--%s=%s" $flag (include "piw.scalar" $value) | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The certificate Secret cert-manager writes and the Deployment mounts (cert-manager and manual modes). */}}
{{- define "piw.tlsSecret" -}}{{ include "piw.fullname" . }}-tls{{- end -}}

{{/* A label selector: the chart's own expressions (always) and the user's (matchLabels, matchExpressions). */}}
{{- define "piw.selector" -}}
{{- $user := .user -}}
{{- with $user.matchLabels }}
matchLabels:
  {{- toYaml . | nindent 2 }}
{{- end }}
matchExpressions:
  {{- toYaml .own | nindent 2 }}
  {{- with $user.matchExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/*
The caBundle the MutatingWebhookConfiguration is rendered with, base64 (empty: none). An upgrade, a
certificate-mode switch or `helm upgrade --force` (which replaces objects with what is rendered)
must never leave the API server without the CA of the replicas still serving:
- self-managed and cert-manager: the live configuration's caBundle, carried over until the
  webhook or cert-manager's CA injector replaces it with the CA of the certificate it serves;
- manual: the given caBundle; switching to it from another mode, the live caBundle is kept beside
  it (the old mode's replicas serve until the rollout ends) until the next upgrade.
`lookup` answers only when Helm talks to a cluster; `helm template` renders the given bundle or none.
*/}}
{{- define "piw.caBundle" -}}
{{- $name := include "piw.fullname" . -}}
{{- $live := lookup "admissionregistration.k8s.io/v1" "MutatingWebhookConfiguration" "" $name -}}
{{- $liveBundle := "" -}}
{{- range (dig "webhooks" list $live) -}}
{{- if eq (dig "name" "" .) "mutate.pod-identity-webhook.io" -}}{{- $liveBundle = dig "clientConfig" "caBundle" "" . -}}{{- end -}}
{{- end -}}
{{- $mode := .Values.certificates.mode -}}
{{- if ne $mode "manual" -}}
{{- $liveBundle -}}
{{- else -}}
{{- $given := .Values.certificates.manual.caBundle -}}
{{- /* The mode the live installation runs in: cert-manager's injector annotation, else the Deployment's flag. */ -}}
{{- $previous := "" -}}
{{- if $live -}}
{{- $previous = "manual" -}}
{{- $deployment := lookup "apps/v1" "Deployment" .Release.Namespace $name -}}
{{- $args := list -}}
{{- range (dig "spec" "template" "spec" "containers" list $deployment) -}}{{- $args = concat $args (dig "args" list .) -}}{{- end -}}
{{- if hasKey (dig "metadata" "annotations" dict $live) "cert-manager.io/inject-ca-from" -}}{{- $previous = "cert-manager" -}}
{{- else if has "--certificate-mode=self-managed" $args -}}{{- $previous = "self-managed" -}}
{{- end -}}
{{- end -}}
{{- $carried := b64dec $liveBundle | trim -}}
{{- if and (ne $previous "manual") $carried (not (contains $carried $given)) -}}
{{- printf "%s\n%s\n" (trim $given) $carried | b64enc -}}
{{- else -}}
{{- $given | b64enc -}}
{{- end -}}
{{- end -}}
{{- end -}}
