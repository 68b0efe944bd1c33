{{/*
A one-shot `onestory` command as a Job. Hooks: after the first install (the Secret and ConfigMaps exist by
then) and before each upgrade (so new pods meet a migrated schema and existing topics).
Include with (dict "root" $ "name" "migrate" "args" (list "migrate") "weight" "0").
*/}}
{{- define "onestory.job" -}}
{{- $root := .root -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "onestory.fullname" $root }}-{{ .name }}
  labels:
    {{- include "onestory.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .name }}
  annotations:
    helm.sh/hook: post-install,pre-upgrade
    helm.sh/hook-weight: {{ .weight | quote }}
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: {{ $root.Values.jobs.backoffLimit }}
  activeDeadlineSeconds: {{ $root.Values.jobs.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        {{- include "onestory.selector" (dict "root" $root "component" .name) | nindent 8 }}
    spec:
      restartPolicy: Never
      serviceAccountName: {{ include "onestory.serviceAccountName" $root }}
      automountServiceAccountToken: false
      securityContext:
        {{- include "onestory.podSecurityContext" $root | nindent 8 }}
      {{- with (include "onestory.podExtras" $root) }}{{ . | trim | nindent 6 }}{{ end }}
      containers:
        - name: {{ .name }}
          image: {{ include "onestory.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: {{ toJson .args }}
          workingDir: /var/lib/onestory
          envFrom:
            {{- include "onestory.envFrom" $root | nindent 12 }}
          env:
            {{- include "onestory.env" $root | nindent 12 }}
          resources:
            {{- toYaml $root.Values.jobs.resources | nindent 12 }}
          securityContext:
            {{- include "onestory.containerSecurityContext" $root | nindent 12 }}
          volumeMounts:
            {{- include "onestory.volumeMounts" $root | nindent 12 }}
      volumes:
        {{- include "onestory.volumes" $root | nindent 8 }}
{{- end -}}
