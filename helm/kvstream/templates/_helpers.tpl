{{/*
Names and labels, as in `helm create`. Every object gets the app.kubernetes.io/* labels; selectors use
name + instance + component, so each role's Service and PDB pick exactly that role's pods.
*/}}

{{- define "kvstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kvstream.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kvstream.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of objects that belong to no single component (ConfigMap, Secret, Ingress). */}}
{{- define "kvstream.labels" -}}
helm.sh/chart: {{ include "kvstream.chart" . }}
app.kubernetes.io/name: {{ include "kvstream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kvstream
{{- end }}

{{/* Selector labels of one component. Call with (dict "root" $ "component" "api"). */}}
{{- define "kvstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kvstream.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component's objects. Call with (dict "root" $ "component" "api"). */}}
{{- define "kvstream.componentLabels" -}}
{{ include "kvstream.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Labels of one component's pod template: the selector labels, part-of and the role's podLabels, never the chart
version or app version, which change on every upgrade and would roll a pod for nothing (a StatefulSet's
PostgreSQL or RabbitMQ server included). Call with (dict "root" $ "component" "api" "values" .Values.api);
"values" is optional.
*/}}
{{- define "kvstream.podLabels" -}}
{{ include "kvstream.selectorLabels" . }}
app.kubernetes.io/part-of: kvstream
{{- with .values }}
{{- with .podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
checksum/secret of a pod template: rolls the pods when a credential they read changes. Hashes what the chart
knows of those credentials: the values given and the Secret names and keys. A generated password is not part of
it (it never changes once generated), nor is the content of an existingSecret (roll the pods yourself, or use a
reloader). Call with (dict "root" $ "reads" (list "db" "amqp" "jwt")).
*/}}
{{- define "kvstream.secretChecksum" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $inputs := dict }}
{{- if has "db" .reads }}
{{- $_ := set $inputs "db" (list (include "kvstream.db.secretName" $root) (include "kvstream.db.secretKey" $root) $v.postgresql.auth.password $v.externalDatabase.password (include "kvstream.db.appSecretKey" $root) $v.postgresql.auth.appPassword $v.externalDatabase.appPassword) }}
{{- end }}
{{- if has "amqp" .reads }}
{{- $_ := set $inputs "amqp" (list (include "kvstream.amqp.secretName" $root) (include "kvstream.amqp.secretKey" $root) $v.rabbitmq.auth.password $v.externalRabbitmq.password $v.externalRabbitmq.existingSecretUriKey) }}
{{- end }}
{{- if has "jwt" .reads }}
{{- $_ := set $inputs "jwt" (list $v.auth.jwtSecret $v.auth.existingSecret $v.auth.existingSecretKey) }}
{{- end }}
{{- toJson $inputs | sha256sum }}
{{- end }}

{{/*
A role's topologySpreadConstraints: each one without a labelSelector selects the role's own pods.
Call with (dict "root" $ "component" "api" "values" .Values.api).
*/}}
{{- define "kvstream.topologySpreadConstraints" -}}
{{- $ctx := . }}
{{- range .values.topologySpreadConstraints }}
{{- $constraint := deepCopy . }}
{{- if not (hasKey $constraint "labelSelector") }}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" (include "kvstream.selectorLabels" $ctx | fromYaml)) }}
{{- end }}
- {{ toYaml $constraint | nindent 2 | trim }}
{{- end }}
{{- end }}

{{/* A role's PodDisruptionBudget. Call with (dict "root" $ "component" "api" "values" .Values.api). */}}
{{- define "kvstream.pdb" -}}
{{- if .values.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "kvstream.fullname" .root }}-{{ .component }}
  labels:
    {{- include "kvstream.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .values.pdb.maxUnavailable }}
  # A pod that is not ready (its database or broker is away) may always be evicted: otherwise such an outage would
  # also block every node drain.
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "kvstream.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{/*
A Kubernetes memory quantity (128974848, 129e6, 129M, 123Mi, ...) in bytes.
*/}}
{{- define "kvstream.bytes" -}}
{{- $q := toString . }}
{{- $units := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 }}
{{- $unit := regexFind "[A-Za-z]+$" $q }}
{{- $number := trimSuffix $unit $q }}
{{- if $unit }}
{{- if not (hasKey $units $unit) }}{{ fail (printf "memory quantity %q: unit %q is not one of Ki, Mi, Gi, Ti, k, M, G, T" $q $unit) }}{{ end }}
{{- printf "%d" (int64 (mulf (float64 $number) (get $units $unit))) }}
{{- else }}
{{- printf "%d" (int64 (float64 $number)) }}
{{- end }}
{{- end }}

{{/*
nginx's proxy-body-size for the Ingress, from config.maxValueBytes: the largest body the app accepts is a /txn
body, two values' worth plus 64 KiB of JSON (TxnParser: 2 * maxValueBytes + 64 KiB), rounded up to whole MiB.
A smaller limit would make nginx answer 413 to a request the app accepts.
*/}}
{{- define "kvstream.ingress.proxyBodySize" -}}
{{- $bytes := add (mul 2 (int64 .Values.config.maxValueBytes)) 65536 }}
{{- printf "%dm" (div (add $bytes 1048575) 1048576) }}
{{- end }}

{{/*
KVSTREAM_WS_ALLOWED_ORIGINS: config.wsAllowedOrigins, plus, when CORS is on (config.corsAllowedOrigins), the
https:// origins of the public host names (ingress.host, gateway.hostnames without wildcards). kvstream admits the
page's own origin on /events by itself (Origin host:port = Host, with or without a list). With CORS on, though,
Helidon's CORS filter judges /events first and compares the scheme too: behind an Ingress or Gateway that ends TLS
the page is https:// while the pod sees http, so the page's origin must be on the list that filter reads.
*/}}
{{- define "kvstream.wsAllowedOrigins" -}}
{{- $origins := list }}
{{- range splitList "," .Values.config.wsAllowedOrigins }}
{{- if trim . }}
{{- $origins = append $origins (trim .) }}
{{- end }}
{{- end }}
{{- if trim .Values.config.corsAllowedOrigins }}
{{- $hosts := list }}
{{- if and .Values.ingress.enabled .Values.ingress.host }}
{{- $hosts = append $hosts .Values.ingress.host }}
{{- end }}
{{- if .Values.gateway.enabled }}
{{- range .Values.gateway.hostnames }}
{{- if not (hasPrefix "*" .) }}
{{- $hosts = append $hosts . }}
{{- end }}
{{- end }}
{{- end }}
{{- range $hosts }}
{{- $own := printf "https://%s" . }}
{{- if not (has $own $origins) }}
{{- $origins = append $origins $own }}
{{- end }}
{{- end }}
{{- end }}
{{- join "," $origins }}
{{- end }}

{{/* Selects the pods that connect to PostgreSQL: every role's, and the migration Job's. */}}
{{- define "kvstream.dbClientPodSelector" -}}
matchLabels:
  app.kubernetes.io/name: {{ include "kvstream.name" . }}
  app.kubernetes.io/instance: {{ .Release.Name }}
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values: [api, worker, websocket, migrate]
{{- end }}

{{/* Selects the kvstream pods of every role (for NetworkPolicies). */}}
{{- define "kvstream.appPodSelector" -}}
matchLabels:
  app.kubernetes.io/name: {{ include "kvstream.name" . }}
  app.kubernetes.io/instance: {{ .Release.Name }}
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values: [api, worker, websocket]
{{- end }}

{{- define "kvstream.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "kvstream.configMapName" -}}
{{- printf "%s-config" (include "kvstream.fullname" .) }}
{{- end }}

{{/* The chart's own Secret; rendered only when some credential is not taken from an existingSecret. */}}
{{- define "kvstream.secretName" -}}
{{- printf "%s-secrets" (include "kvstream.fullname" .) }}
{{- end }}

{{/*
A value of the chart's Secret: the configured one; else the one already in the cluster (so a generated password
survives upgrades, and a reinstall over the Secret that `helm.sh/resource-policy: keep` left behind reuses it
with the volumes it initialised); else a new random one. `helm template` has no cluster: lookup finds nothing.
secretLookup: false skips the lookup (for a renderer that fails on it instead). Call with (dict "root" $ "key" "db-password" "value" "...").
*/}}
{{- define "kvstream.secretValue" -}}
{{- $existing := dict }}
{{- if and (not .value) .root.Values.secretLookup }}
{{- $existing = lookup "v1" "Secret" .root.Release.Namespace (include "kvstream.secretName" .root) }}
{{- end }}
{{- if .value }}
{{- .value }}
{{- else if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key | b64dec }}
{{- else }}
{{- randAlphaNum 24 }}
{{- end }}
{{- end }}

{{/* ---- PostgreSQL: bundled StatefulSet or externalDatabase ---- */}}

{{- define "kvstream.postgresql.fullname" -}}
{{- printf "%s-postgres" (include "kvstream.fullname" .) }}
{{- end }}

{{- define "kvstream.db.host" -}}
{{- if .Values.postgresql.enabled }}
{{- include "kvstream.postgresql.fullname" . }}
{{- else }}
{{- required "externalDatabase.host is required when postgresql.enabled is false" .Values.externalDatabase.host }}
{{- end }}
{{- end }}

{{- define "kvstream.db.port" -}}
{{- if .Values.postgresql.enabled }}5432{{ else }}{{ .Values.externalDatabase.port }}{{ end }}
{{- end }}

{{- define "kvstream.db.database" -}}
{{- if .Values.postgresql.enabled }}{{ .Values.postgresql.auth.database }}{{ else }}{{ .Values.externalDatabase.database }}{{ end }}
{{- end }}

{{/* The schema's owner: the migration Job's user. */}}
{{- define "kvstream.db.username" -}}
{{- if .Values.postgresql.enabled }}{{ .Values.postgresql.auth.username }}{{ else }}{{ .Values.externalDatabase.user }}{{ end }}
{{- end }}

{{/* The DML-only user the pods connect as; empty with an external database without appUser (then: username). */}}
{{- define "kvstream.db.appUsername" -}}
{{- if .Values.postgresql.enabled }}{{ .Values.postgresql.auth.appUsername }}{{ else }}{{ .Values.externalDatabase.appUser }}{{ end }}
{{- end }}

{{/* KVSTREAM_DB_URL: the server, the database and the JDBC parameters (postgresql.params / externalDatabase.params). */}}
{{- define "kvstream.db.url" -}}
{{- $params := ternary .Values.postgresql.params .Values.externalDatabase.params .Values.postgresql.enabled }}
{{- printf "jdbc:postgresql://%s:%s/%s" (include "kvstream.db.host" .) (include "kvstream.db.port" .) (include "kvstream.db.database" .) }}
{{- with $params }}?{{ . }}{{ end }}
{{- end }}

{{- define "kvstream.db.existingSecret" -}}
{{- if .Values.postgresql.enabled }}{{ .Values.postgresql.auth.existingSecret }}{{ else }}{{ .Values.externalDatabase.existingSecret }}{{ end }}
{{- end }}

{{- define "kvstream.db.secretName" -}}
{{- default (include "kvstream.secretName" .) (include "kvstream.db.existingSecret" .) }}
{{- end }}

{{- define "kvstream.db.secretKey" -}}
{{- if not (include "kvstream.db.existingSecret" .) }}db-password
{{- else if .Values.postgresql.enabled }}{{ .Values.postgresql.auth.existingSecretPasswordKey }}
{{- else }}{{ .Values.externalDatabase.existingSecretPasswordKey }}
{{- end }}
{{- end }}

{{/* The key of the pods' (DML-only user's) password; the owner's key when an external database has no appUser. */}}
{{- define "kvstream.db.appSecretKey" -}}
{{- if not (include "kvstream.db.appUsername" .) }}{{ include "kvstream.db.secretKey" . }}
{{- else if not (include "kvstream.db.existingSecret" .) }}db-app-password
{{- else if .Values.postgresql.enabled }}{{ .Values.postgresql.auth.existingSecretAppPasswordKey }}
{{- else }}{{ .Values.externalDatabase.existingSecretAppPasswordKey }}
{{- end }}
{{- end }}

{{/* ---- RabbitMQ: bundled StatefulSet or externalRabbitmq ---- */}}

{{- define "kvstream.rabbitmq.fullname" -}}
{{- printf "%s-rabbitmq" (include "kvstream.fullname" .) }}
{{- end }}

{{/*
Every node of the bundled RabbitMQ cluster as host:port, comma-separated, for KVSTREAM_AMQP_URI: the client connects to
one that answers and recovers to another when it is lost. Each pod has a DNS name under the headless Service.
*/}}
{{- define "kvstream.rabbitmq.nodes" -}}
{{- $name := include "kvstream.rabbitmq.fullname" . }}
{{- $nodes := list }}
{{- range $i := until (int .Values.rabbitmq.replicas) }}
{{- $nodes = append $nodes (printf "%s-%d.%s:5672" $name $i $name) }}
{{- end }}
{{- join "," $nodes }}
{{- end }}

{{- define "kvstream.rabbitmq.erlangCookieSecretName" -}}
{{- default (include "kvstream.secretName" .) .Values.rabbitmq.auth.existingErlangCookieSecret }}
{{- end }}

{{- define "kvstream.rabbitmq.erlangCookieSecretKey" -}}
{{- ternary .Values.rabbitmq.auth.existingErlangCookieSecretKey "rabbitmq-erlang-cookie" (not (empty .Values.rabbitmq.auth.existingErlangCookieSecret)) }}
{{- end }}

{{- define "kvstream.amqp.existingSecret" -}}
{{- if .Values.rabbitmq.enabled }}{{ .Values.rabbitmq.auth.existingSecret }}{{ else }}{{ .Values.externalRabbitmq.existingSecret }}{{ end }}
{{- end }}

{{- define "kvstream.amqp.secretName" -}}
{{- default (include "kvstream.secretName" .) (include "kvstream.amqp.existingSecret" .) }}
{{- end }}

{{- define "kvstream.amqp.secretKey" -}}
{{- if not (include "kvstream.amqp.existingSecret" .) }}amqp-password
{{- else if .Values.rabbitmq.enabled }}{{ .Values.rabbitmq.auth.existingSecretPasswordKey }}
{{- else }}{{ .Values.externalRabbitmq.existingSecretPasswordKey }}
{{- end }}
{{- end }}

{{/* True when the whole KVSTREAM_AMQP_URI comes from the external broker's existing Secret. */}}
{{- define "kvstream.amqp.uriFromSecret" -}}
{{- if and (not .Values.rabbitmq.enabled) .Values.externalRabbitmq.existingSecret .Values.externalRabbitmq.existingSecretUriKey }}true{{ end }}
{{- end }}

{{/* KVSTREAM_AMQP_URI with the password taken from $(AMQP_PASSWORD), which must be defined before it. */}}
{{- define "kvstream.amqp.uri" -}}
{{- if .Values.rabbitmq.enabled }}
{{- printf "amqp://%s:$(AMQP_PASSWORD)@%s/%%2f" .Values.rabbitmq.auth.username (include "kvstream.rabbitmq.nodes" .) }}
{{- else }}
{{- $host := required "externalRabbitmq.host is required when rabbitmq.enabled is false" .Values.externalRabbitmq.host }}
{{- printf "amqp://%s:$(AMQP_PASSWORD)@%s:%v/%s" .Values.externalRabbitmq.user $host .Values.externalRabbitmq.port .Values.externalRabbitmq.vhost }}
{{- end }}
{{- end }}

{{/* ---- the kvstream pod, one Deployment per role ---- */}}

{{/*
Environment of a kvstream container: the role, the credentials from Secrets, the AMQP URI built from them.
Everything else comes from the ConfigMap (envFrom). Call with (dict "root" $ "component" "api").
*/}}
{{- define "kvstream.env" -}}
{{- $root := .root -}}
- name: KVSTREAM_ROLE
  value: {{ .component }}
- name: KVSTREAM_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "kvstream.db.secretName" $root }}
      key: {{ include "kvstream.db.appSecretKey" $root }}
- name: KVSTREAM_DB_POOL_SIZE
  value: {{ .values.dbPoolSize | int64 | quote }}
{{- if include "kvstream.amqp.uriFromSecret" $root }}
- name: KVSTREAM_AMQP_URI
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.externalRabbitmq.existingSecret }}
      key: {{ $root.Values.externalRabbitmq.existingSecretUriKey }}
{{- else }}
- name: AMQP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "kvstream.amqp.secretName" $root }}
      key: {{ include "kvstream.amqp.secretKey" $root }}
- name: KVSTREAM_AMQP_URI
  value: {{ include "kvstream.amqp.uri" $root | quote }}
{{- end }}
{{- if ne .component "worker" }}
- name: KVSTREAM_AUTH_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ default (include "kvstream.secretName" $root) $root.Values.auth.existingSecret }}
      key: {{ ternary $root.Values.auth.existingSecretKey "jwt-secret" (not (empty $root.Values.auth.existingSecret)) }}
      optional: {{ empty $root.Values.auth.existingSecret }}
{{- end }}
{{- with .values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* A kvstream Deployment. Call with (dict "root" $ "component" "api" "values" .Values.api). */}}
{{- define "kvstream.deployment" -}}
{{- $root := .root }}
{{- $values := .values }}
{{- $servesTraffic := ne .component "worker" }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "kvstream.fullname" $root }}-{{ .component }}
  labels:
    {{- include "kvstream.componentLabels" . | nindent 4 }}
spec:
  {{- if not (and (eq .component "api") $values.autoscaling.enabled) }}
  replicas: {{ $values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "kvstream.selectorLabels" . | nindent 6 }}
  {{- if $servesTraffic }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "kvstream.podLabels" . | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        checksum/secret: {{ include "kvstream.secretChecksum" (dict "root" $root "reads" (ternary (list "db" "amqp" "jwt") (list "db" "amqp") $servesTraffic)) }}
        prometheus.io/scrape: "true"
        prometheus.io/port: "8080"
        prometheus.io/path: /observe/metrics
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
      {{- with $values.priorityClassName }}
      priorityClassName: {{ . | quote }}
      {{- end }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: kvstream
          image: {{ include "kvstream.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "kvstream.configMapName" $root }}
          env:
            {{- include "kvstream.env" . | nindent 12 }}
          startupProbe:
            httpGet:
              path: /observe/health/live
              port: http
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet:
              path: /observe/health/live
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /observe/health/ready
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          {{- if $servesTraffic }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $root.Values.preStopSleepSeconds }}
          {{- end }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- with $values.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 256Mi
        {{- with $values.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if $values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- include "kvstream.topologySpreadConstraints" . | trim | nindent 8 }}
      {{- end }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/* A role's ClusterIP Service. Call with (dict "root" $ "component" "api"). */}}
{{- define "kvstream.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "kvstream.fullname" .root }}-{{ .component }}
  labels:
    {{- include "kvstream.componentLabels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "kvstream.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .root.Values.service.port }}
      targetPort: http
      protocol: TCP
{{- end }}
