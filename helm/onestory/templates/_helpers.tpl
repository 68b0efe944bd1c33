{{/* Names and labels. */}}
{{- define "onestory.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "onestory.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component: include with (dict "root" $ "component" "api"). */}}
{{- define "onestory.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "onestory.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "onestory.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "onestory.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "onestory.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "onestory.fullname" .)) -}}
{{- end -}}

{{- define "onestory.policyConfigMap" -}}
{{- .Values.policy.existingConfigMap | default (printf "%s-policy" (include "onestory.fullname" .)) -}}
{{- end -}}

{{- define "onestory.hasPolicy" -}}
{{- if or .Values.policy.content .Values.policy.existingConfigMap -}}true{{- end -}}
{{- end -}}

{{- define "onestory.directoryConfigMap" -}}
{{- .Values.directory.existingConfigMap | default (printf "%s-directory" (include "onestory.fullname" .)) -}}
{{- end -}}

{{- define "onestory.hasDirectory" -}}
{{- if or .Values.directory.content .Values.directory.existingConfigMap -}}true{{- end -}}
{{- end -}}

{{/* Checks the schema cannot express (it cannot compare two values). */}}
{{- define "onestory.validate" -}}
{{- if gt (int .Values.processors.replicas) (int .Values.settings.partitions) -}}
{{- fail (printf "processors.replicas (%d) cannot exceed settings.partitions (%d): consumers beyond the partition count sit idle" (int .Values.processors.replicas) (int .Values.settings.partitions)) -}}
{{- end -}}
{{- if and (not .Values.secrets.existingSecret) (or (not .Values.secrets.database) (not .Values.secrets.kafka)) -}}
{{- fail "secrets.database and secrets.kafka are required unless secrets.existingSecret names a Secret holding them" -}}
{{- end -}}
{{- $protocol := .Values.settings.kafkaSecurityProtocol | default "PLAINTEXT" -}}
{{- if and (hasPrefix "SASL_" $protocol) (not .Values.settings.kafkaSaslUsername) -}}
{{- fail (printf "settings.kafkaSecurityProtocol %s needs settings.kafkaSaslUsername (Strimzi: the KafkaUser's name)" $protocol) -}}
{{- end -}}
{{- if and (hasPrefix "SASL_" $protocol) (not .Values.kafkaSasl.passwordSecret) (not .Values.secrets.kafkaSaslPassword) (not .Values.secrets.existingSecret) -}}
{{- fail (printf "settings.kafkaSecurityProtocol %s needs a password: kafkaSasl.passwordSecret, secrets.kafkaSaslPassword or ONESTORY_KAFKA_SASL_PASSWORD in secrets.existingSecret" $protocol) -}}
{{- end -}}
{{- if and (or .Values.kafkaTls.caSecret .Values.kafkaTls.clientSecret) (not (has $protocol (list "SSL" "SASL_SSL"))) -}}
{{- fail (printf "kafkaTls is set but settings.kafkaSecurityProtocol is %s: use SSL or SASL_SSL" $protocol) -}}
{{- end -}}
{{- if and (has .Values.settings.databaseSslmode (list "verify-ca" "verify-full")) (not .Values.databaseTls.caSecret) -}}
{{- fail (printf "settings.databaseSslmode %s needs databaseTls.caSecret (CloudNativePG: <cluster>-ca): the CA that signed the server's certificate" .Values.settings.databaseSslmode) -}}
{{- end -}}
{{- if and (gt (int .Values.api.replicas) 1) (not .Values.secrets.existingSecret) (not .Values.secrets.oidcIssuer) -}}
{{- fail "more than one API replica needs an external OIDC issuer (secrets.oidcIssuer): each pod's own signing key differs" -}}
{{- end -}}
{{- end -}}

{{/* Pod-level pieces shared by every workload. */}}
{{- define "onestory.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "onestory.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Settings reach every container the same way: the settings ConfigMap, then the Secret. */}}
{{- define "onestory.envFrom" -}}
- configMapRef:
    name: {{ include "onestory.fullname" . }}-settings
- secretRef:
    name: {{ include "onestory.secretName" . }}
{{- end -}}

{{- define "onestory.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),service.version={{ .Chart.AppVersion }}"
{{- with .Values.kafkaSasl.passwordSecret }}
- name: ONESTORY_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.kafkaSasl.passwordKey }}
{{- end }}
{{- end -}}

{{/* TLS material from other operators' Secrets: (volume name, Secret, keys → fixed file names). */}}
{{- define "onestory.tlsMounts" -}}
{{- $mounts := list -}}
{{- with .Values.kafkaTls -}}
{{- if .caSecret -}}{{- $mounts = append $mounts (dict "name" "kafka-ca" "secret" .caSecret "items" (list (dict "key" .caKey "path" "ca.crt"))) -}}{{- end -}}
{{- if .clientSecret -}}{{- $mounts = append $mounts (dict "name" "kafka-client" "secret" .clientSecret "items" (list (dict "key" .certKey "path" "client.crt") (dict "key" .keyKey "path" "client.key"))) -}}{{- end -}}
{{- end -}}
{{- with .Values.databaseTls -}}
{{- if .caSecret -}}{{- $mounts = append $mounts (dict "name" "database-ca" "secret" .caSecret "items" (list (dict "key" .caKey "path" "ca.crt"))) -}}{{- end -}}
{{- if .clientSecret -}}{{- $mounts = append $mounts (dict "name" "database-client" "secret" .clientSecret "items" (list (dict "key" .certKey "path" "client.crt") (dict "key" .keyKey "path" "client.key"))) -}}{{- end -}}
{{- end -}}
{{- toJson $mounts -}}
{{- end -}}

{{- define "onestory.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/onestory
{{- if include "onestory.hasPolicy" . }}
- name: policy
  mountPath: /etc/onestory/policy
  readOnly: true
{{- end }}
{{- if include "onestory.hasDirectory" . }}
- name: directory
  mountPath: /etc/onestory/directory
  readOnly: true
{{- end }}
{{- range include "onestory.tlsMounts" . | fromJsonArray }}
- name: {{ .name }}
  mountPath: /etc/onestory/{{ .name }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "onestory.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
- name: data
  emptyDir:
    sizeLimit: 256Mi
{{- if include "onestory.hasPolicy" . }}
- name: policy
  configMap:
    name: {{ include "onestory.policyConfigMap" . }}
{{- end }}
{{- if include "onestory.hasDirectory" . }}
- name: directory
  configMap:
    name: {{ include "onestory.directoryConfigMap" . }}
{{- end }}
{{- range include "onestory.tlsMounts" . | fromJsonArray }}
- name: {{ .name }}
  secret:
    secretName: {{ .secret }}
    defaultMode: 0440  # libpq accepts a root-owned key readable by its group (fsGroup), not by others
    items:
      {{- toYaml .items | nindent 6 }}
{{- end }}
{{- end -}}

{{- define "onestory.podExtras" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Restarts pods when their settings, secret, policy or organisation directory change. */}}
{{- define "onestory.checksums" -}}
checksum/settings: {{ include (print $.Template.BasePath "/configmap-settings.yaml") . | sha256sum }}
checksum/secrets: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
checksum/policy: {{ include (print $.Template.BasePath "/configmap-policy.yaml") . | sha256sum }}
checksum/directory: {{ include (print $.Template.BasePath "/configmap-directory.yaml") . | sha256sum }}
{{- end -}}
