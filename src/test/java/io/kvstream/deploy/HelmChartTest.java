package io.kvstream.deploy;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import com.marcnuri.helm.DryRun;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1EnvVar;
import io.kubernetes.client.openapi.models.V1HTTPIngressPath;
import io.kubernetes.client.openapi.models.V1Ingress;
import io.kubernetes.client.openapi.models.V1Job;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V2HorizontalPodAutoscaler;
import org.junit.jupiter.api.Test;

import static io.kvstream.deploy.Manifests.helm;
import static io.kvstream.deploy.Manifests.helmDefault;
import static io.kvstream.deploy.Manifests.helmTemplate;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The Helm chart: lint, default render, the external-database/broker switch, existingSecret handling and the
 * values schema. Rendering is offline (helm-java runs Helm in-process); every rendered object is parsed
 * strictly against the Kubernetes API models by {@link Manifests}.
 */
class HelmChartTest {
    /** PostgreSQL and RabbitMQ run elsewhere; every credential comes from a Secret the operator created. */
    static final Map<String, Object> EXTERNAL_SERVICES = Map.of(
            "postgresql.enabled", false,
            "externalDatabase.host", "db.example.internal",
            "externalDatabase.existingSecret", "kvstream-db",
            "externalDatabase.existingSecretPasswordKey", "password",
            "rabbitmq.enabled", false,
            "externalRabbitmq.host", "mq.example.internal",
            "externalRabbitmq.existingSecret", "kvstream-mq",
            "externalRabbitmq.existingSecretPasswordKey", "password",
            "auth.existingSecret", "kvstream-auth");

    @Test
    void chartPassesHelmLintStrict() {
        LintResult result = new Helm(Manifests.CHART).lint().strict().call();

        assertThat(String.join("\n", result.getMessages()), result.isFailed(), is(false));
    }

    @Test
    void defaultRenderHasTheWholeTopology() {
        Manifests chart = helmDefault();

        assertThat(kindsAndNames(chart), is(Set.of(
                "ConfigMap/kvstream-config", "Secret/kvstream-secrets",
                "Deployment/kvstream-api", "Deployment/kvstream-worker", "Deployment/kvstream-websocket",
                "Service/kvstream-api", "Service/kvstream-worker", "Service/kvstream-websocket",
                "HorizontalPodAutoscaler/kvstream-api", "PodDisruptionBudget/kvstream-api",
                "PodDisruptionBudget/kvstream-worker", "PodDisruptionBudget/kvstream-websocket", "Ingress/kvstream",
                "StatefulSet/kvstream-postgres", "Service/kvstream-postgres",
                "StatefulSet/kvstream-rabbitmq", "Service/kvstream-rabbitmq", "ConfigMap/kvstream-rabbitmq-config",
                "PodDisruptionBudget/kvstream-rabbitmq",
                "NetworkPolicy/kvstream-app", "NetworkPolicy/kvstream-postgres", "NetworkPolicy/kvstream-rabbitmq",
                "Job/kvstream-migrate", "ConfigMap/kvstream-postgres-initdb")));
    }

    @Test
    void defaultRenderGeneratesBundledPasswordsIntoTheChartSecret() {
        V1Secret secret = helmDefault().get(V1Secret.class, "kvstream-secrets");

        assertThat(Manifests.secretKeys(secret), is(Set.of("db-password", "db-app-password", "amqp-password",
                                                           "rabbitmq-erlang-cookie")));
        assertThat(new String(secret.getData().get("db-app-password")).length(), is(24));
        assertThat(new String(secret.getData().get("db-password")).length(), is(24));
        assertThat(new String(secret.getData().get("rabbitmq-erlang-cookie")).length(), is(24));
    }

    // ---- the bundled RabbitMQ cluster ----------------------------------------------------------------------------

    @Test
    void bundledRabbitmqIsAThreeNodeClusterFormedByKubernetesPeerDiscovery() {
        Manifests chart = helmDefault();
        V1StatefulSet set = chart.get(V1StatefulSet.class, "kvstream-rabbitmq");
        V1Container rabbitmq = chart.workload("rabbitmq").container();
        Map<String, String> config = chart.get(V1ConfigMap.class, "kvstream-rabbitmq-config").getData();

        assertThat(set.getSpec().getReplicas(), is(3));
        assertThat(set.getSpec().getPodManagementPolicy(), is("Parallel"));
        assertThat(chart.envValue(rabbitmq, "RABBITMQ_USE_LONGNAME").orElseThrow(), is("true"));
        assertThat(chart.envValue(rabbitmq, "RABBITMQ_NODENAME").orElseThrow(),
                   is("rabbit@$(MY_POD_NAME).kvstream-rabbitmq.$(MY_POD_NAMESPACE).svc.cluster.local"));
        assertThat(config.get("kvstream.conf"), containsString("cluster_formation.peer_discovery_backend = k8s\n"));
        assertThat(config.get("kvstream.conf"), containsString("cluster_partition_handling = pause_minority\n"));
        assertThat(config.get("kvstream.conf"), containsString("queue_leader_locator = balanced\n"));
        assertThat(config.get("enabled_plugins"),
                   is("[rabbitmq_management,rabbitmq_prometheus,rabbitmq_peer_discovery_k8s,rabbitmq_random_exchange].\n"));
        assertThat(rabbitmq.getVolumeMounts().stream().map(m -> m.getMountPath() + "<-" + m.getName() + "/" + m.getSubPath())
                           .toList(),
                   is(List.of("/var/lib/rabbitmq<-data/null", "/etc/rabbitmq/conf.d/20-kvstream.conf<-config/kvstream.conf",
                              "/etc/rabbitmq/enabled_plugins<-config/enabled_plugins")));
        assertThat(chart.get(io.kubernetes.client.openapi.models.V1Service.class, "kvstream-rabbitmq").getSpec()
                           .getPublishNotReadyAddresses(), is(true));
        assertThat(chart.get(io.kubernetes.client.openapi.models.V1PodDisruptionBudget.class, "kvstream-rabbitmq")
                           .getSpec().getMaxUnavailable().getIntValue(), is(1));
    }

    @Test
    void everyRabbitmqNodeGetsTheErlangCookieOfTheChartSecret() {
        V1StatefulSet set = helmDefault().get(V1StatefulSet.class, "kvstream-rabbitmq");
        var cookie = set.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getName().equals("erlang-cookie")).findFirst().orElseThrow().getSecret();
        V1Container copy = set.getSpec().getTemplate().getSpec().getInitContainers().getFirst();

        assertThat(cookie.getSecretName() + "/" + cookie.getItems().getFirst().getKey() + "->"
                   + cookie.getItems().getFirst().getPath(), is("kvstream-secrets/rabbitmq-erlang-cookie->cookie"));
        assertThat(copy.getCommand(), is(List.of("sh", "-c", "cp /erlang-cookie/cookie /var/lib/rabbitmq/.erlang.cookie "
                                                             + "&& chmod 600 /var/lib/rabbitmq/.erlang.cookie")));
    }

    @Test
    void erlangCookieCanComeFromAnExistingSecret() {
        Manifests chart = helm(Map.of("rabbitmq.auth.existingErlangCookieSecret", "mq-cookie"));
        var cookie = chart.get(V1StatefulSet.class, "kvstream-rabbitmq").getSpec().getTemplate().getSpec().getVolumes()
                .stream().filter(v -> v.getName().equals("erlang-cookie")).findFirst().orElseThrow().getSecret();

        assertThat(cookie.getSecretName() + "/" + cookie.getItems().getFirst().getKey(), is("mq-cookie/erlang-cookie"));
        assertThat(Manifests.secretKeys(chart.get(V1Secret.class, "kvstream-secrets")),
                   is(Set.of("db-password", "db-app-password", "amqp-password")));
    }

    @Test
    void appsListEveryRabbitmqNodeInTheirAmqpUri() {
        V1Container api = helmDefault().workload("api").container();

        assertThat(helmDefault().envValue(api, "KVSTREAM_AMQP_URI").orElseThrow(),
                   is("amqp://kvstream:$(AMQP_PASSWORD)@kvstream-rabbitmq-0.kvstream-rabbitmq:5672,"
                      + "kvstream-rabbitmq-1.kvstream-rabbitmq:5672,kvstream-rabbitmq-2.kvstream-rabbitmq:5672/%2f"));
    }

    @Test
    void aSingleRabbitmqNodeHasNoDisruptionBudgetAndOneAddress() {
        Manifests chart = helm(Map.of("rabbitmq.replicas", 1));

        assertThat(chart.get(V1StatefulSet.class, "kvstream-rabbitmq").getSpec().getReplicas(), is(1));
        assertThat(kindsAndNames(chart).contains("PodDisruptionBudget/kvstream-rabbitmq"), is(false));
        assertThat(chart.envValue(chart.workload("worker").container(), "KVSTREAM_AMQP_URI").orElseThrow(),
                   is("amqp://kvstream:$(AMQP_PASSWORD)@kvstream-rabbitmq-0.kvstream-rabbitmq:5672/%2f"));
    }

    @Test
    void commandQueueIsAQuorumQueueByDefaultAndTheSchemaKnowsOnlyTheTwoTypes() {
        assertThat(helmDefault().get(V1ConfigMap.class, "kvstream-config").getData()
                           .get("KVSTREAM_AMQP_COMMAND_QUEUE_TYPE"), is("quorum"));
        assertThat(helm(Map.of("config.amqpCommandQueueType", "classic")).get(V1ConfigMap.class, "kvstream-config")
                           .getData().get("KVSTREAM_AMQP_COMMAND_QUEUE_TYPE"), is("classic"));

        Exception failure = assertThrows(Exception.class,
                () -> helmTemplate(Map.of("config.amqpCommandQueueType", "mirrored")));

        assertThat(failure.getMessage(), containsString("amqpCommandQueueType"));
    }

    @Test
    void synchronousCommandsTakeTheWorkersQueuesByDefaultAndTheSchemaKnowsOnlyTheTwoLanes() {
        assertThat(helmDefault().get(V1ConfigMap.class, "kvstream-config").getData()
                           .get("KVSTREAM_AMQP_SYNC_COMMAND_LANE"), is("worker-queues"));
        assertThat(helm(Map.of("config.amqpSyncCommandLane", "shared-queue")).get(V1ConfigMap.class, "kvstream-config")
                           .getData().get("KVSTREAM_AMQP_SYNC_COMMAND_LANE"), is("shared-queue"));

        Exception failure = assertThrows(Exception.class,
                () -> helmTemplate(Map.of("config.amqpSyncCommandLane", "random")));

        assertThat(failure.getMessage(), containsString("amqpSyncCommandLane"));
    }

    /** A private registry's pull secret reaches every pod the chart runs, the bundled servers' and the migration's too. */
    @Test
    void imagePullSecretsReachEveryPod() {
        Manifests chart = helm(Map.of("imagePullSecrets[0].name", "regcred"));

        for (Manifests.Workload w : chart.workloads()) {
            assertThat(w.name() + " imagePullSecrets", w.template().getSpec().getImagePullSecrets().stream()
                    .map(io.kubernetes.client.openapi.models.V1LocalObjectReference::getName).toList(),
                       is(List.of("regcred")));
        }
        assertThat(chart.get(V1Job.class, "kvstream-migrate-1").getSpec().getTemplate().getSpec().getImagePullSecrets()
                           .getFirst().getName(), is("regcred"));
    }

    /** A quorum needs a majority: an even node count adds a failure, not a spare, so the schema refuses it. */
    @Test
    void theSchemaRefusesAnEvenNumberOfRabbitmqNodes() {
        assertThat(helm(Map.of("rabbitmq.replicas", 1)).workload("rabbitmq").replicas(), is(1));
        assertThat(helm(Map.of("rabbitmq.replicas", 5)).workload("rabbitmq").replicas(), is(5));

        Exception failure = assertThrows(Exception.class, () -> helmTemplate(Map.of("rabbitmq.replicas", 2)));

        assertThat(failure.getMessage(), containsString("replicas"));
    }

    @Test
    void apiReplicaCountIsLeftToTheHpaWhenAutoscaling() {
        Manifests chart = helmDefault();

        assertThat(chart.get(V1Deployment.class, "kvstream-api").getSpec().getReplicas(), is(nullValue()));
        assertThat(chart.get(V2HorizontalPodAutoscaler.class, "kvstream-api").getSpec().getMinReplicas(), is(3));
    }

    @Test
    void disablingAutoscalingSetsTheApiReplicaCountAndDropsTheHpa() {
        Manifests chart = helm(Map.of("api.autoscaling.enabled", false, "api.replicaCount", 4));

        assertThat(chart.get(V1Deployment.class, "kvstream-api").getSpec().getReplicas(), is(4));
        assertThat(chart.all(V2HorizontalPodAutoscaler.class), is(empty()));
    }

    @Test
    void externalServicesReplaceTheBundledStatefulSets() {
        Manifests chart = helm(EXTERNAL_SERVICES);

        assertThat(chart.all(V1StatefulSet.class), is(empty()));
        assertThat(kindsAndNames(chart).stream().filter(n -> n.contains("postgres") || n.contains("rabbitmq")).toList(),
                   is(empty()));
    }

    @Test
    void externalServicesAreReachedWithCredentialsFromTheirExistingSecrets() {
        Manifests chart = helm(EXTERNAL_SERVICES);
        V1Container api = chart.workload("api").container();

        assertThat(chart.envValue(api, "KVSTREAM_DB_URL").orElseThrow(),
                   is("jdbc:postgresql://db.example.internal:5432/kvstream"));
        assertThat(secretRef(api, "KVSTREAM_DB_PASSWORD"), is("kvstream-db/password"));
        assertThat(secretRef(api, "AMQP_PASSWORD"), is("kvstream-mq/password"));
        assertThat(chart.envValue(api, "KVSTREAM_AMQP_URI").orElseThrow(),
                   is("amqp://kvstream:$(AMQP_PASSWORD)@mq.example.internal:5672/%2f"));
        assertThat(secretRef(api, "KVSTREAM_AUTH_JWT_SECRET"), is("kvstream-auth/jwt-secret"));
        assertThat(env(api, "KVSTREAM_AUTH_JWT_SECRET").getValueFrom().getSecretKeyRef().getOptional(), is(false));
    }

    @Test
    void noChartSecretIsRenderedWhenEveryCredentialHasAnExistingSecret() {
        assertThat(helm(EXTERNAL_SERVICES).all(V1Secret.class), is(empty()));
    }

    @Test
    void externalBrokerUriCanComeWholeFromTheExistingSecret() {
        Map<String, Object> values = new java.util.HashMap<>(EXTERNAL_SERVICES);
        values.put("externalRabbitmq.existingSecretUriKey", "uri");
        V1Container worker = helm(values).workload("worker").container();

        assertThat(secretRef(worker, "KVSTREAM_AMQP_URI"), is("kvstream-mq/uri"));
        assertThat(worker.getEnv().stream().map(V1EnvVar::getName).toList().contains("AMQP_PASSWORD"), is(false));
    }

    @Test
    void externalDatabaseWithoutHostFailsWithAClearMessage() {
        Exception failure = assertThrows(Exception.class, () -> helmTemplate(Map.of("postgresql.enabled", false)));

        assertThat(failure.getMessage(), containsString("externalDatabase.host is required"));
    }

    @Test
    void externalDatabaseWithoutPasswordOrExistingSecretFails() {
        Exception failure = assertThrows(Exception.class, () -> helmTemplate(
                Map.of("postgresql.enabled", false, "externalDatabase.host", "db.example.internal")));

        assertThat(failure.getMessage(), containsString("externalDatabase.password or externalDatabase.existingSecret"));
    }

    @Test
    void misspeltValueIsRejectedByTheSchema() {
        Exception failure = assertThrows(Exception.class, () -> helmTemplate(Map.of("api.replicaCont", 2)));

        assertThat(failure.getMessage(), containsString("replicaCont"));
    }

    @Test
    void valueOfTheWrongTypeIsRejectedByTheSchema() {
        Exception failure = assertThrows(Exception.class, () -> helmTemplate(Map.of("config.commandTimeout", "five")));

        assertThat(failure.getMessage(), containsString("commandTimeout"));
    }

    @Test
    void ingressHostAndTlsAreOptional() {
        Manifests chart = helm(Map.of("ingress.host", "kv.example.com"));

        assertThat(chart.get(V1Ingress.class, "kvstream").getSpec().getRules().getFirst().getHost(), is("kv.example.com"));
        assertThat(helmDefault().get(V1Ingress.class, "kvstream").getSpec().getRules().getFirst().getHost(), is(nullValue()));
    }

    /** {@code /openapi} is served by the API pods, but the Ingress routes it only when {@code ingress.exposeOpenapi}. */
    @Test
    void ingressRoutesTheOpenApiDocumentOnlyWhenAsked() {
        Manifests exposed = helm(Map.of("ingress.exposeOpenapi", true));

        List<V1HTTPIngressPath> openapi = openapiPaths(exposed);
        assertThat(openapi.size(), is(1));
        assertThat(openapi.getFirst().getPathType(), is("Exact"));
        assertThat(openapi.getFirst().getBackend().getService().getName(), is("kvstream-api"));
        assertThat(openapi.getFirst().getBackend().getService().getPort().getName(), is("http"));
        assertThat(openapiPaths(helmDefault()), is(List.of()));
        assertThat(openapiPaths(Manifests.kustomize(Manifests.KUSTOMIZE_BASE)), is(List.of()));
    }

    private static List<V1HTTPIngressPath> openapiPaths(Manifests manifests) {
        return manifests.get(V1Ingress.class, "kvstream").getSpec().getRules().stream()
                .flatMap(rule -> rule.getHttp().getPaths().stream())
                .filter(path -> path.getPath().startsWith("/openapi"))
                .toList();
    }

    @Test
    void configChangeRollsThePods() {
        String before = helmDefault().workload("api").template().getMetadata().getAnnotations().get("checksum/config");
        String after = helm(Map.of("config.wsHeartbeat", "PT10S"))
                .workload("api").template().getMetadata().getAnnotations().get("checksum/config");

        assertThat(before.equals(after), is(false));
    }

    /**
     * Every app pod template that reads a Secret (env secretKeyRef or a secret volume) rolls when that Secret's inputs
     * change. The bundled servers do not: they read their passwords only when their volume is first initialised.
     */
    @Test
    void everyAppPodTemplateThatReadsASecretHasASecretChecksumAndNoServerDoes() {
        for (Manifests chart : List.of(helmDefault(), helm(EXTERNAL_SERVICES), helm(Map.of("auth.jwtSecret", "s3cret")))) {
            for (Manifests.Workload w : chart.workloads()) {
                if (!Manifests.APP_COMPONENTS.contains(w.component())) {
                    assertThat(chart.source() + " " + w.name() + " checksum/secret",
                               annotations(w).get("checksum/secret"), is(nullValue()));
                    continue;
                }
                boolean readsSecret = w.containers().stream()
                        .flatMap(c -> java.util.Objects.requireNonNullElse(c.getEnv(), List.<V1EnvVar>of()).stream())
                        .anyMatch(e -> e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null)
                        || java.util.Objects.requireNonNullElse(w.template().getSpec().getVolumes(),
                                                                 List.<io.kubernetes.client.openapi.models.V1Volume>of())
                        .stream().anyMatch(v -> v.getSecret() != null);
                if (!readsSecret) {
                    continue;
                }
                assertThat(chart.source() + " " + w.name() + " checksum/secret",
                           annotations(w).getOrDefault("checksum/secret", "").matches("[0-9a-f]{64}"), is(true));
            }
        }
    }

    /** A new JWT secret reaches the pods that verify tokens; PostgreSQL, RabbitMQ and the worker keep running. */
    @Test
    void changingTheJwtSecretRollsTheApiAndWebsocketPodsOnly() {
        Map<String, String> before = secretChecksums(helm(Map.of("auth.jwtSecret", "first-secret")));
        Map<String, String> after = secretChecksums(helm(Map.of("auth.jwtSecret", "second-secret")));

        assertThat(changed(before, after), is(Set.of("api", "websocket")));
    }

    /** The app pods connect with the new password; PostgreSQL, which took its own at initdb, keeps running. */
    @Test
    void changingTheDatabasePasswordRollsTheAppPodsButNeitherServer() {
        Map<String, String> before = secretChecksums(helmDefault());
        Map<String, String> after = secretChecksums(helm(Map.of("postgresql.auth.password", "chosen-password")));

        assertThat(changed(before, after), is(Set.of("api", "worker", "websocket")));
    }

    /**
     * An upgrade of kvstream (a new chart version and app version, nothing else changed) leaves the pod templates of
     * PostgreSQL and RabbitMQ as they were, so neither server restarts; the app pods roll for the new image.
     */
    @Test
    void anUpgradeOfTheChartLeavesTheServersPodTemplatesAsTheyWere() {
        Manifests before = helmDefault();
        Manifests after = Manifests.helmWithChartFile("Chart.yaml", chart -> chart
                .replaceFirst("(?m)^version: .*$", "version: 9.8.7")
                .replaceFirst("(?m)^appVersion: .*$", "appVersion: \"9.8.7\""));

        assertThat(after.workload("api").template().getSpec().getContainers().getFirst().getImage(),
                   is(not(before.workload("api").template().getSpec().getContainers().getFirst().getImage())));
        for (String server : List.of("postgresql", "rabbitmq")) {
            assertThat(server + " pod template", after.workload(server).template(),
                       is(before.workload(server).template()));
        }
    }

    /** Generated passwords change nothing on upgrade: two renders with generated passwords have the same checksums. */
    @Test
    void generatedPasswordsDoNotEnterTheChecksum() {
        String first = helmTemplate(Map.of());
        String second = helmTemplate(Map.of());

        assertThat(secretChecksums(Manifests.parse("first", first)),
                   is(secretChecksums(Manifests.parse("second", second))));
    }

    /**
     * The bundled servers take their password only at the first init of their volume: the chart's Secret survives
     * {@code helm uninstall} (as the PVCs do), so a reinstall finds the passwords those volumes were initialised with.
     */
    @Test
    void chartSecretIsKeptOnUninstall() {
        V1Secret secret = helmDefault().get(V1Secret.class, "kvstream-secrets");

        assertThat(secret.getMetadata().getAnnotations().get("helm.sh/resource-policy"), is("keep"));
    }

    /**
     * An install dry run with the default values (secretLookup on): the lookup of the kept Secret renders offline
     * (it finds nothing), and NOTES warns that the bundled servers take their password at first init only.
     */
    @Test
    void installNotesWarnThatPasswordsApplyOnlyAtTheFirstInitOfAVolume() {
        String output = new Helm(Manifests.CHART).install().withName(Manifests.RELEASE).withNamespace("kvstream")
                .withKubeVersion(Manifests.KUBE_VERSION).dryRun().withDryRunOption(DryRun.CLIENT).clientOnly().call()
                .getOutput();

        assertThat(output, containsString("WARNING: the bundled PostgreSQL and RabbitMQ take their password only when "
                                          + "their volume is first initialised."));
        assertThat(output, containsString("Secret kvstream-secrets has helm.sh/resource-policy: keep"));
        assertThat(output, containsString("a reinstall under the same release name reuses the generated passwords"));
    }

    @Test
    void notesHaveNoPasswordWarningWhenEveryCredentialIsExternal() {
        String output = new Helm(Manifests.CHART).install().withName(Manifests.RELEASE).withNamespace("kvstream")
                .withKubeVersion(Manifests.KUBE_VERSION).dryRun().withDryRunOption(DryRun.CLIENT).clientOnly()
                .set("postgresql.enabled", false).set("externalDatabase.host", "db.example.internal")
                .set("externalDatabase.existingSecret", "kvstream-db")
                .set("rabbitmq.enabled", false).set("externalRabbitmq.host", "mq.example.internal")
                .set("externalRabbitmq.existingSecret", "kvstream-mq").call().getOutput();

        assertThat(output.contains("WARNING"), is(false));
    }

    /** nginx must let through the largest body the app accepts: a /txn body of 2 * maxValueBytes + 64 KiB. */
    @Test
    void ingressBodyLimitFollowsTheMaximumValueSize() {
        assertThat(proxyBodySize(helmDefault()), is("3m"));
        assertThat(proxyBodySize(helm(Map.of("config.maxValueBytes", 10 * 1024 * 1024))), is("21m"));
        for (int maxValueBytes : List.of(1, 1024, 1048576, 1048577, 4 * 1048576, 16 * 1048576 - 1)) {
            String size = proxyBodySize(helm(Map.of("config.maxValueBytes", maxValueBytes)));
            long limit = Long.parseLong(size.substring(0, size.length() - 1)) * 1048576;
            long largestTxnBody = 2L * maxValueBytes + 65536;
            assertThat(maxValueBytes + " -> " + size, limit >= largestTxnBody && limit < largestTxnBody + 1048576, is(true));
        }
    }

    /**
     * kvstream admits the page's own origin on /events with or without a list, so the chart passes the list as it is;
     * with CORS on, Helidon's CORS filter also compares the scheme, which an Ingress or Gateway that ends TLS changes,
     * so the chart adds the public host names' https:// origins (EventsOriginTest shows both).
     */
    @Test
    void wsAllowedOriginsGetThePublicHostsOriginsOnlyWhenCorsIsOn() {
        assertThat(wsAllowedOrigins(helm(Map.of("config.wsAllowedOrigins", "https://app.example",
                                                "ingress.host", "kv.example.com"))),
                   is("https://app.example"));
        assertThat(wsAllowedOrigins(helm(Map.of("ingress.host", "kv.example.com"))), is(""));
        assertThat(wsAllowedOrigins(helm(Map.of("config.corsAllowedOrigins", "https://cors.example",
                                                "ingress.host", "kv.example.com"))),
                   is("https://kv.example.com"));
        assertThat(wsAllowedOrigins(helm(Map.of("config.corsAllowedOrigins", "https://cors.example",
                                                "config.wsAllowedOrigins", "https://app.example, https://kv.example.com",
                                                "ingress.host", "kv.example.com"))),
                   is("https://app.example,https://kv.example.com"));
        assertThat(wsAllowedOrigins(helm(Map.of("config.corsAllowedOrigins", "https://cors.example",
                                                "ingress.enabled", false, "gateway.enabled", true,
                                                "gateway.parentRefs[0].name", "public",
                                                "gateway.hostnames[0]", "kv.example.com",
                                                "gateway.hostnames[1]", "*.example.com"))),
                   is("https://kv.example.com"));
        assertThat(wsAllowedOrigins(helm(Map.of("config.corsAllowedOrigins", "https://cors.example"))), is(""));
    }

    static String wsAllowedOrigins(Manifests chart) {
        return chart.get(io.kubernetes.client.openapi.models.V1ConfigMap.class, "kvstream-config").getData()
                .get("KVSTREAM_WS_ALLOWED_ORIGINS");
    }

    // ---- Gateway API ------------------------------------------------------------------------------------------

    static final Map<String, Object> GATEWAY = Map.of("gateway.enabled", true,
                                                      "gateway.parentRefs[0].name", "public",
                                                      "gateway.parentRefs[0].namespace", "gateway-system",
                                                      "gateway.hostnames[0]", "kv.example.com");

    @Test
    void noHttpRouteByDefault() {
        assertThat(helmDefault().httpRoutes(), is(List.of()));
    }

    /** The HTTPRoute sends each path where the Ingress of the same values does, /openapi only when exposed. */
    @Test
    void httpRouteRoutesTheIngressPathsToTheSameServices() {
        for (boolean openapi : List.of(false, true)) {
            Map<String, Object> values = new java.util.HashMap<>(GATEWAY);
            values.put("gateway.exposeOpenapi", openapi);
            values.put("ingress.exposeOpenapi", openapi);
            Manifests chart = helm(values);

            Set<String> ingressRoutes = chart.get(V1Ingress.class, "kvstream").getSpec().getRules().stream()
                    .flatMap(rule -> rule.getHttp().getPaths().stream())
                    .map(path -> path.getPathType().replace("Prefix", "PathPrefix") + " " + path.getPath() + " -> "
                                 + path.getBackend().getService().getName() + ":8080")
                    .collect(Collectors.toSet());
            assertThat("openapi " + openapi, httpRouteRoutes(chart), is(ingressRoutes));
            assertThat(ingressRoutes.contains("Exact /openapi -> kvstream-api:8080"), is(openapi));
        }
    }

    @Test
    void httpRouteAttachesToTheGivenGatewayForTheGivenHosts() {
        Map<String, Object> route = helm(GATEWAY).httpRoutes().getFirst();
        Map<String, Object> spec = Manifests.cast(route.get("spec"));

        assertThat(Manifests.<Map<String, Object>>cast(route.get("metadata")).get("name"), is("kvstream"));
        assertThat(spec.get("parentRefs"), is(List.of(Map.of("name", "public", "namespace", "gateway-system"))));
        assertThat(spec.get("hostnames"), is(List.of("kv.example.com")));
        assertThat("no timeouts unless set", rules(route).stream().noneMatch(rule -> rule.containsKey("timeouts")), is(true));
    }

    /** Long-lived WebSocket and SSE connections: timeouts for the /events rule only, as the implementation allows. */
    @Test
    void eventsTimeoutsApplyToTheEventsRuleOnly() {
        Map<String, Object> values = new java.util.HashMap<>(GATEWAY);
        values.put("gateway.eventsTimeouts.request", "0s");
        List<Map<String, Object>> rules = rules(helm(values).httpRoutes().getFirst());

        assertThat(rules.stream().filter(rule -> rule.containsKey("timeouts"))
                           .map(rule -> List.of(String.valueOf(rule.get("matches")), rule.get("timeouts"))).toList(),
                   is(List.of(List.of("[{path={type=PathPrefix, value=/events}}]", Map.of("request", "0s")))));
    }

    @Test
    void installNotesPointAtTheGatewayHostWithoutAnIngress() {
        String output = new Helm(Manifests.CHART).install().withName(Manifests.RELEASE).withNamespace("kvstream")
                .withKubeVersion(Manifests.KUBE_VERSION).dryRun().withDryRunOption(DryRun.CLIENT).clientOnly()
                .set("ingress.enabled", false).set("gateway.enabled", true).set("gateway.parentRefs[0].name", "public")
                .set("gateway.hostnames[0]", "kv.example.com").call().getOutput();

        assertThat(output, containsString("Through the Gateway (HTTPRoute kvstream):"));
        assertThat(output, containsString("curl -X PUT --data 'myvalue' https://kv.example.com/values/mykey"));
    }

    @Test
    void httpRouteWithoutParentRefsFailsWithAClearMessage() {
        Exception failure = assertThrows(Exception.class, () -> helmTemplate(Map.of("gateway.enabled", true)));

        assertThat(failure.getMessage(), containsString("gateway.parentRefs is required"));
    }

    @Test
    void misspeltGatewayValueIsRejectedByTheSchema() {
        Exception failure = assertThrows(Exception.class, () -> helmTemplate(Map.of("gateway.parentRef[0].name", "public")));

        assertThat(failure.getMessage(), containsString("parentRef"));
    }

    static List<Map<String, Object>> rules(Map<String, Object> route) {
        return Manifests.cast(Manifests.<Map<String, Object>>cast(route.get("spec")).get("rules"));
    }

    /** "PathPrefix /values -> kvstream-api:8080" for every path match of every rule. */
    static Set<String> httpRouteRoutes(Manifests chart) {
        Set<String> routes = new java.util.HashSet<>();
        for (Map<String, Object> rule : rules(chart.httpRoutes().getFirst())) {
            List<Map<String, Object>> backends = Manifests.cast(rule.get("backendRefs"));
            assertThat(backends.size(), is(1));
            for (Map<String, Object> match : Manifests.<List<Map<String, Object>>>cast(rule.get("matches"))) {
                Map<String, Object> path = Manifests.cast(match.get("path"));
                routes.add(path.get("type") + " " + path.get("value") + " -> " + backends.getFirst().get("name") + ":"
                           + ((Number) backends.getFirst().get("port")).intValue());
            }
        }
        return routes;
    }

    @Test
    void ingressClassIsConfigurable() {
        assertThat(helm(Map.of("ingress.className", "traefik")).get(V1Ingress.class, "kvstream").getSpec()
                .getIngressClassName(), is("traefik"));
        assertThat(helm(Map.of("ingress.className", "")).get(V1Ingress.class, "kvstream").getSpec()
                .getIngressClassName(), is(nullValue()));
    }

    @Test
    void perRoleSchedulingLabelsEnvAndVolumesReachThePodTemplate() {
        Manifests chart = helm(Map.of(
                "worker.priorityClassName", "kvstream-high",
                "worker.podLabels.team", "storage",
                "worker.extraEnv[0].name", "JAVA_TOOL_OPTIONS",
                "worker.extraEnv[0].value", "-Xlog:gc",
                "worker.extraVolumes[0].name", "ca",
                "worker.extraVolumes[0].configMap.name", "ca-bundle",
                "worker.extraVolumeMounts[0].name", "ca",
                "worker.extraVolumeMounts[0].mountPath", "/etc/ca"));
        Manifests.Workload worker = chart.workload("worker");

        assertThat(worker.template().getSpec().getPriorityClassName(), is("kvstream-high"));
        assertThat(worker.podLabels().get("team"), is("storage"));
        assertThat(worker.selector().getMatchLabels().containsKey("team"), is(false));
        assertThat(env(worker.container(), "JAVA_TOOL_OPTIONS").getValue(), is("-Xlog:gc"));
        assertThat(worker.template().getSpec().getVolumes().stream().map(v -> v.getName()).toList(), is(List.of("tmp", "ca")));
        assertThat(worker.container().getVolumeMounts().getLast().getMountPath(), is("/etc/ca"));
        assertThat(chart.workload("api").template().getSpec().getPriorityClassName(), is(nullValue()));
    }

    @Test
    void topologySpreadKeepsAGivenLabelSelector() {
        Manifests chart = helm(Map.of(
                "websocket.topologySpreadConstraints[0].maxSkew", 2,
                "websocket.topologySpreadConstraints[0].topologyKey", "kubernetes.io/hostname",
                "websocket.topologySpreadConstraints[0].whenUnsatisfiable", "DoNotSchedule",
                "websocket.topologySpreadConstraints[0].labelSelector.matchLabels.tier", "edge"));
        var constraints = chart.workload("websocket").template().getSpec().getTopologySpreadConstraints();

        assertThat(constraints.size(), is(1));
        assertThat(constraints.getFirst().getLabelSelector().getMatchLabels(), is(Map.of("tier", "edge")));
        assertThat(constraints.getFirst().getWhenUnsatisfiable(), is("DoNotSchedule"));
    }

    @Test
    void anEmptyListTurnsTopologySpreadOff(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path values = java.nio.file.Files.writeString(dir.resolve("values.yaml"),
                                                                    "worker:\n  topologySpreadConstraints: []\n");
        Manifests chart = Manifests.parse("helm template -f " + values, new Helm(Manifests.CHART).template()
                .withName(Manifests.RELEASE).withNamespace("kvstream").withKubeVersion(Manifests.KUBE_VERSION)
                .withValuesFile(values).set("secretLookup", false).call());

        assertThat(chart.workload("worker").template().getSpec().getTopologySpreadConstraints(), is(empty()));
        assertThat(chart.workload("api").template().getSpec().getTopologySpreadConstraints().size(), is(2));
    }

    @Test
    void bundledServerImagesArePatchReleases() {
        Manifests chart = helmDefault();

        assertThat(chart.workload("postgresql").container().getImage(), is("postgres:17.6"));
        assertThat(chart.workload("rabbitmq").container().getImage(), is("rabbitmq:4.1.4-management"));
    }

    // ---- least privilege: the migration Job, the pods' DML-only user, NetworkPolicies -----------------------

    @Test
    void bundledDatabaseIsMigratedByAJobPerRevisionAsTheOwnerWhileThePodsConnectAsTheDmlUser() {
        Manifests chart = helmDefault();
        V1Job job = chart.get(V1Job.class, "kvstream-migrate-1");
        V1Container migrate = job.getSpec().getTemplate().getSpec().getContainers().getFirst();
        V1ConfigMap config = chart.get(V1ConfigMap.class, "kvstream-config");

        assertThat("a plain Job: the bundled server does not exist before install",
                   java.util.Objects.requireNonNullElse(job.getMetadata().getAnnotations(), Map.of()).keySet(),
                   is(Set.of()));
        assertThat(Manifests.helmHooks(Map.of()).all(), is(empty()));
        assertThat(env(migrate, "KVSTREAM_ROLE").getValue(), is("migrate"));
        assertThat(env(migrate, "KVSTREAM_DB_USERNAME").getValue(), is("kvstream"));
        assertThat(secretRef(migrate, "KVSTREAM_DB_PASSWORD"), is("kvstream-secrets/db-password"));
        assertThat(env(migrate, "KVSTREAM_DB_APP_ROLE").getValue(), is("kvstream_app"));
        assertThat(env(migrate, "KVSTREAM_DB_URL").getValue(), is(config.getData().get("KVSTREAM_DB_URL")));
        assertThat(config.getData().get("KVSTREAM_DB_USERNAME"), is("kvstream_app"));
        assertThat(config.getData().get("KVSTREAM_DB_MIGRATE"), is("false"));
        for (Manifests.Workload app : chart.appWorkloads()) {
            assertThat(app.name(), secretRef(app.container(), "KVSTREAM_DB_PASSWORD"),
                       is("kvstream-secrets/db-app-password"));
        }
    }

    @Test
    void bundledPostgresCreatesTheDmlUserAtFirstInitFromTheSecret() {
        Manifests chart = helmDefault();
        Manifests.Workload postgres = chart.workload("postgresql");
        V1Container server = postgres.container();
        String script = chart.get(V1ConfigMap.class, "kvstream-postgres-initdb").getData().get("10-kvstream-app-user.sh");

        assertThat(env(server, "POSTGRES_USER").getValue(), is("kvstream"));
        assertThat(env(server, "KVSTREAM_APP_USER").getValue(), is("kvstream_app"));
        assertThat(secretRef(server, "KVSTREAM_APP_PASSWORD"), is("kvstream-secrets/db-app-password"));
        assertThat(script, containsString("CREATE ROLE :\"app_user\" LOGIN PASSWORD :'app_password';"));
        assertThat(server.getVolumeMounts().stream()
                           .filter(m -> m.getMountPath().equals("/docker-entrypoint-initdb.d"))
                           .map(m -> m.getName()).toList(), is(List.of("initdb")));
        assertThat(postgres.template().getSpec().getVolumes().stream()
                           .filter(v -> v.getName().equals("initdb"))
                           .map(v -> v.getConfigMap().getName()).toList(), is(List.of("kvstream-postgres-initdb")));
    }

    @Test
    void externalDatabaseIsMigratedInAPreInstallAndPreUpgradeHookWithItsSettingsInline() {
        Map<String, Object> values = new java.util.HashMap<>(EXTERNAL_SERVICES);
        values.put("externalDatabase.appUser", "kvstream_app");
        values.put("externalDatabase.existingSecretAppPasswordKey", "app-password");
        Manifests chart = helm(values);
        V1Job job = Manifests.helmHooks(values).get(V1Job.class, "kvstream-migrate");
        V1Container migrate = job.getSpec().getTemplate().getSpec().getContainers().getFirst();

        assertThat(job.getMetadata().getAnnotations(), is(Map.of(
                Manifests.HOOK_ANNOTATION + "hook", "pre-install,pre-upgrade",
                Manifests.HOOK_ANNOTATION + "hook-weight", "0",
                Manifests.HOOK_ANNOTATION + "hook-delete-policy", "before-hook-creation,hook-succeeded")));
        assertThat("hooks are not in the release's manifest", chart.find(V1Job.class, "kvstream-migrate").isPresent(),
                   is(false));
        assertThat("the chart's ConfigMap does not exist yet at pre-install",
                   java.util.Objects.requireNonNullElse(migrate.getEnvFrom(), List.of()), is(empty()));
        assertThat(env(migrate, "KVSTREAM_DB_URL").getValue(), is("jdbc:postgresql://db.example.internal:5432/kvstream"));
        assertThat(env(migrate, "KVSTREAM_DB_USERNAME").getValue(), is("kvstream"));
        assertThat(secretRef(migrate, "KVSTREAM_DB_PASSWORD"), is("kvstream-db/password"));
        assertThat(env(migrate, "KVSTREAM_DB_APP_ROLE").getValue(), is("kvstream_app"));
        assertThat(secretRef(chart.workload("api").container(), "KVSTREAM_DB_PASSWORD"), is("kvstream-db/app-password"));
        assertThat(chart.all(V1Secret.class), is(empty()));
    }

    @Test
    void externalDatabasePasswordGivenAsAValueReachesTheHookThroughAHookSecret() {
        Map<String, Object> values = Map.of("postgresql.enabled", false, "externalDatabase.host", "db.example.internal",
                                            "externalDatabase.password", "owner-pw");
        Manifests chart = helm(values);
        Manifests hooks = Manifests.helmHooks(values);
        V1Secret hookSecret = hooks.get(V1Secret.class, "kvstream-migrate");
        V1Container migrate = hooks.get(V1Job.class, "kvstream-migrate").getSpec().getTemplate().getSpec()
                .getContainers().getFirst();

        assertThat(hookSecret.getMetadata().getAnnotations().get(Manifests.HOOK_ANNOTATION + "hook"),
                   is("pre-install,pre-upgrade"));
        assertThat("before the Job", hookSecret.getMetadata().getAnnotations().get(Manifests.HOOK_ANNOTATION + "hook-weight"),
                   is("-5"));
        assertThat(new String(hookSecret.getData().get("db-password")), is("owner-pw"));
        assertThat(secretRef(migrate, "KVSTREAM_DB_PASSWORD"), is("kvstream-migrate/db-password"));
        assertThat("no appUser: the pods connect as the owner",
                   secretRef(chart.workload("api").container(), "KVSTREAM_DB_PASSWORD"), is("kvstream-secrets/db-password"));
    }

    @Test
    void jdbcParametersReachTheUrlOfThePodsAndOfTheJob() {
        Manifests chart = helm(Map.of("postgresql.params", "sslmode=disable&connectTimeout=3"));
        V1Container migrate = chart.get(V1Job.class, "kvstream-migrate-1").getSpec().getTemplate().getSpec()
                .getContainers().getFirst();

        String url = "jdbc:postgresql://kvstream-postgres:5432/kvstream?sslmode=disable&connectTimeout=3";
        assertThat(chart.get(V1ConfigMap.class, "kvstream-config").getData().get("KVSTREAM_DB_URL"), is(url));
        assertThat(env(migrate, "KVSTREAM_DB_URL").getValue(), is(url));
    }

    @Test
    void port8080IsOpenOnlyToTheIngressAndMonitoringNamespaces() {
        V1NetworkPolicy app = helmDefault().get(V1NetworkPolicy.class, "kvstream-app");

        assertThat(app.getSpec().getIngress().size(), is(1));
        var rule = app.getSpec().getIngress().getFirst();
        assertThat(rule.getPorts().stream().map(p -> p.getPort().getIntValue()).toList(), is(List.of(8080)));
        assertThat(rule.getFrom().stream().map(peer -> peer.getPodSelector() == null
                                                      ? peer.getNamespaceSelector().getMatchLabels() : Map.of("pods", "any"))
                           .toList(),
                   is(List.of(Map.of("kubernetes.io/metadata.name", "ingress-nginx"),
                              Map.of("kubernetes.io/metadata.name", "monitoring"))));
    }

    @Test
    void ingressAndMonitoringNamespacesAreConfigurable() {
        V1NetworkPolicy app = helm(Map.of(
                "networkPolicy.ingressNamespaceSelector.matchLabels.team", "edge",
                "networkPolicy.monitoringNamespaceSelector.matchLabels.team", "observability"))
                .get(V1NetworkPolicy.class, "kvstream-app");

        assertThat(app.getSpec().getIngress().getFirst().getFrom().stream()
                           .map(peer -> peer.getNamespaceSelector().getMatchLabels()).toList(),
                   is(List.of(Map.of("team", "edge", "kubernetes.io/metadata.name", "ingress-nginx"),
                              Map.of("team", "observability", "kubernetes.io/metadata.name", "monitoring"))));
    }

    @Test
    void bundledPostgresAdmitsTheAppPodsAndTheMigrationJob() {
        Manifests chart = helmDefault();
        V1NetworkPolicy postgres = chart.get(V1NetworkPolicy.class, "kvstream-postgres");
        var selector = postgres.getSpec().getIngress().getFirst().getFrom().getFirst().getPodSelector();

        assertThat(selector.getMatchExpressions().getFirst().getValues(),
                   is(List.of("api", "worker", "websocket", "migrate")));
        assertThat(chart.get(V1Job.class, "kvstream-migrate-1").getSpec().getTemplate().getMetadata().getLabels()
                           .get(Manifests.COMPONENT), is("migrate"));
    }

    static Map<String, String> annotations(Manifests.Workload w) {
        return java.util.Objects.requireNonNullElse(w.template().getMetadata().getAnnotations(), Map.of());
    }

    static Map<String, String> secretChecksums(Manifests chart) {
        return chart.workloads().stream().filter(w -> annotations(w).containsKey("checksum/secret"))
                .collect(Collectors.toMap(Manifests.Workload::component, w -> annotations(w).get("checksum/secret")));
    }

    static Set<String> changed(Map<String, String> before, Map<String, String> after) {
        return before.keySet().stream().filter(k -> !before.get(k).equals(after.get(k))).collect(Collectors.toSet());
    }

    static String proxyBodySize(Manifests chart) {
        return chart.get(V1Ingress.class, "kvstream").getMetadata().getAnnotations()
                .get("nginx.ingress.kubernetes.io/proxy-body-size");
    }

    /**
     * Each object as kind/name; the chart names its migration Job after the release revision (a Job's pod template
     * cannot change, so each revision gets a Job of its own): that suffix is dropped.
     */
    static Set<String> kindsAndNames(Manifests manifests) {
        return manifests.all().stream()
                .map(o -> o.getKind() + "/" + (o instanceof V1Job ? o.getMetadata().getName().replaceFirst("-[0-9]+$", "")
                                                                 : o.getMetadata().getName()))
                .collect(Collectors.toSet());
    }

    static V1EnvVar env(V1Container container, String name) {
        List<V1EnvVar> matches = container.getEnv().stream().filter(e -> e.getName().equals(name)).toList();
        assertThat(container.getName() + " env " + name, matches.size(), is(1));
        return matches.getFirst();
    }

    static String secretRef(V1Container container, String name) {
        var ref = env(container, name).getValueFrom().getSecretKeyRef();
        return ref.getName() + "/" + ref.getKey();
    }
}
