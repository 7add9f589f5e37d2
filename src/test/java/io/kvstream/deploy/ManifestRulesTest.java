package io.kvstream.deploy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;

import io.kubernetes.client.custom.IntOrString;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1ContainerPort;
import io.kubernetes.client.openapi.models.V1EnvVar;
import io.kubernetes.client.openapi.models.V1HTTPIngressPath;
import io.kubernetes.client.openapi.models.V1Ingress;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1LabelSelectorRequirement;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1NetworkPolicyIngressRule;
import io.kubernetes.client.openapi.models.V1NetworkPolicyPeer;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1Probe;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1SecurityContext;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServicePort;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V1Volume;
import io.kubernetes.client.openapi.models.V2HorizontalPodAutoscaler;
import io.kvstream.deploy.Manifests.Workload;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.in;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;

/**
 * Rules every rendering of the deployment must obey, checked on the kustomize base and dev overlay and on the
 * chart with its default values, with external services, and without autoscaling: labels and selectors,
 * Services, probes, Ingress routes, env keys the app really reads, security, resources, graceful shutdown.
 */
class ManifestRulesTest {
    static final int APP_PORT = 8080;
    static final Set<String> ROLES = Set.of("api", "worker", "websocket", "all");

    /** A rendering under test and the Secrets it may reference without rendering them (the operator's own). */
    record Source(Supplier<Manifests> manifests, Set<String> externalSecrets) {
    }

    static Stream<Named<Source>> sources() {
        return Stream.of(
                Named.of("kustomize base", new Source(() -> Manifests.kustomize(Manifests.KUSTOMIZE_BASE), Set.of())),
                Named.of("kustomize dev overlay", new Source(() -> Manifests.kustomize(Manifests.KUSTOMIZE_DEV), Set.of())),
                Named.of("helm defaults", new Source(Manifests::helmDefault, Set.of())),
                Named.of("helm external services", new Source(() -> Manifests.helm(HelmChartTest.EXTERNAL_SERVICES),
                                                              Set.of("kvstream-db", "kvstream-mq", "kvstream-auth"))),
                Named.of("helm without autoscaling", new Source(
                        () -> Manifests.helm(Map.of("api.autoscaling.enabled", false, "ingress.enabled", false)), Set.of())));
    }

    @ParameterizedTest
    @MethodSource("sources")
    void everyRoleRunsAsItsOwnWorkload(Source source) {
        Manifests m = source.manifests().get();

        for (String role : List.of("api", "worker", "websocket")) {
            assertThat(m.source() + " " + role, m.workload(role).kind(), is("Deployment"));
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void workloadSelectorsMatchTheirOwnPodLabelsOnly(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.workloads()) {
            V1LabelSelector selector = w.selector();
            assertThat(w.name() + " selector expressions",
                       Objects.requireNonNullElse(selector.getMatchExpressions(), List.of()), is(empty()));
            assertThat(w.name() + " selects its pods", w.podLabels().entrySet().containsAll(
                    selector.getMatchLabels().entrySet()), is(true));
            assertThat(w.name() + " selector names a component", selector.getMatchLabels().get(Manifests.COMPONENT),
                       is(w.component()));
            assertThat(w.name() + " selects only its own pods", m.selectedBy(selector.getMatchLabels()).size(), is(1));
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void everyServiceSelectsExactlyOneWorkloadAndTargetsOneOfItsContainerPorts(Source source) {
        Manifests m = source.manifests().get();

        for (V1Service service : m.all(V1Service.class)) {
            String name = "Service " + service.getMetadata().getName();
            List<Workload> selected = m.selectedBy(service.getSpec().getSelector());
            assertThat(name + " selects " + selected.stream().map(Workload::name).toList(), selected.size(), is(1));
            List<V1ContainerPort> containerPorts = selected.getFirst().containers().stream()
                    .flatMap(c -> c.getPorts().stream()).toList();
            for (V1ServicePort port : service.getSpec().getPorts()) {
                assertThat(name + " port " + port.getName() + " targets a container port",
                           containerPort(containerPorts, port.getTargetPort()), is(notNullValue()));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void statefulSetsAreGovernedByAHeadlessService(Source source) {
        Manifests m = source.manifests().get();

        for (V1StatefulSet set : m.all(V1StatefulSet.class)) {
            V1Service service = m.get(V1Service.class, set.getSpec().getServiceName());
            assertThat(service.getMetadata().getName() + " is headless", service.getSpec().getClusterIP(), is("None"));
            assertThat(set.getMetadata().getName() + " keeps data on a claim",
                       set.getSpec().getVolumeClaimTemplates().size(), is(1));
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void appHttpRolesHaveAClusterIpServiceOnTheAppPort(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.appWorkloads()) {
            List<V1Service> services = m.all(V1Service.class).stream()
                    .filter(s -> m.selectedBy(s.getSpec().getSelector()).contains(w)).toList();
            assertThat(w.name() + " services", services.size(), is(1));
            assertThat(services.getFirst().getSpec().getType(), is("ClusterIP"));
            assertThat(containerPort(w.container().getPorts(), services.getFirst().getSpec().getPorts().getFirst()
                    .getTargetPort()).getContainerPort(), is(APP_PORT));
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void appProbesUseTheObserveHealthEndpointsOnTheAppPort(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.appWorkloads()) {
            V1Container c = w.container();
            assertThat(w.name() + " SERVER_PORT", m.envValue(c, "SERVER_PORT").orElse(String.valueOf(APP_PORT)),
                       is(String.valueOf(APP_PORT)));
            assertProbe(w.name() + " startup", c, c.getStartupProbe(), "/observe/health/live");
            assertProbe(w.name() + " liveness", c, c.getLivenessProbe(), "/observe/health/live");
            assertProbe(w.name() + " readiness", c, c.getReadinessProbe(), "/observe/health/ready");
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void bundledServersHaveExecProbesOfTheirOwnTools(Source source) {
        Manifests m = source.manifests().get();

        for (V1StatefulSet set : m.all(V1StatefulSet.class)) {
            V1Container c = set.getSpec().getTemplate().getSpec().getContainers().getFirst();
            for (V1Probe probe : new V1Probe[] {c.getStartupProbe(), c.getLivenessProbe(), c.getReadinessProbe()}) {
                assertThat(set.getMetadata().getName() + " probe", probe.getExec().getCommand().getFirst(),
                           is(in(Set.of("pg_isready", "rabbitmq-diagnostics"))));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void ingressRoutesPageAndValuesToTheApiAndEventsToTheWebsocketRole(Source source) {
        Manifests m = source.manifests().get();
        List<V1Ingress> ingresses = m.all(V1Ingress.class);
        if (ingresses.isEmpty()) {
            return; // the "without Ingress" render
        }

        Map<String, String> routes = new java.util.TreeMap<>();
        for (V1Ingress ingress : ingresses) {
            for (var rule : ingress.getSpec().getRules()) {
                for (V1HTTPIngressPath path : rule.getHttp().getPaths()) {
                    var backend = path.getBackend().getService();
                    V1Service service = m.get(V1Service.class, backend.getName());
                    assertThat(path.getPath() + " port exists on " + backend.getName(),
                               service.getSpec().getPorts().stream().anyMatch(p -> backend.getPort().getName() != null
                                       ? backend.getPort().getName().equals(p.getName())
                                       : Objects.equals(backend.getPort().getNumber(), p.getPort())), is(true));
                    routes.put(path.getPathType() + " " + path.getPath(),
                               m.selectedBy(service.getSpec().getSelector()).getFirst().component());
                }
            }
            Map<String, String> annotations = ingress.getMetadata().getAnnotations();
            assertThat(annotations.get("nginx.ingress.kubernetes.io/proxy-read-timeout"), is("3600"));
            assertThat(annotations.get("nginx.ingress.kubernetes.io/proxy-send-timeout"), is("3600"));
        }

        assertThat(routes, is(Map.of("Exact /", "api", "Prefix /static", "api", "Prefix /values", "api",
                                     "Prefix /txn", "api", "Prefix /events", "websocket")));
    }

    /**
     * ingress-nginx retries a request on the next pod after an error or timeout ({@code error timeout} by default),
     * and nginx counts PUT and DELETE as idempotent: a PUT whose pod died after the worker committed it would be
     * sent again. The Ingress turns retries off (GETs included: ingress-nginx has no per-method setting).
     */
    @ParameterizedTest
    @MethodSource("sources")
    void ingressNeverResendsARequestToAnotherPod(Source source) {
        for (V1Ingress ingress : source.manifests().get().all(V1Ingress.class)) {
            assertThat(ingress.getMetadata().getAnnotations().get("nginx.ingress.kubernetes.io/proxy-next-upstream"),
                       is("off"));
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void appEnvVarsAreKeysTheAppReads(Source source) {
        Manifests m = source.manifests().get();
        Set<String> known = Manifests.appEnvVarNames();

        for (Workload w : m.appWorkloads()) {
            for (String name : m.envNames(w.container())) {
                if (name.startsWith("KVSTREAM_") || name.startsWith("SERVER_")) {
                    assertThat(w.name() + " sets " + name + ", which no key of application.yaml maps to",
                               name, is(in(known)));
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void eachAppWorkloadRunsTheRoleOfItsComponent(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.appWorkloads()) {
            String role = m.envValue(w.container(), "KVSTREAM_ROLE").orElseThrow();
            assertThat(w.name(), role, is(in(ROLES)));
            assertThat(w.name(), role, is(w.component()));
            assertThat(w.name() + " mode", m.envValue(w.container(), "KVSTREAM_MODE").orElseThrow(), is("prod"));
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void appContainersGetDatabaseAndBrokerSettings(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.appWorkloads()) {
            Set<String> env = m.envNames(w.container());
            for (String required : List.of("KVSTREAM_DB_URL", "KVSTREAM_DB_USERNAME", "KVSTREAM_DB_PASSWORD",
                                           "KVSTREAM_AMQP_URI")) {
                assertThat(w.name(), env, hasItem(required));
            }
            assertThat(w.name() + " KVSTREAM_DB_URL", m.envValue(w.container(), "KVSTREAM_DB_URL").orElseThrow()
                    .matches("jdbc:postgresql://[^/:]+:\\d+/\\w+"), is(true));
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void secretAndConfigMapReferencesResolve(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.workloads()) {
            for (V1Container c : w.containers()) {
                for (V1EnvVar env : Objects.requireNonNullElse(c.getEnv(), List.<V1EnvVar>of())) {
                    if (env.getValueFrom() == null) {
                        continue;
                    }
                    var secretRef = env.getValueFrom().getSecretKeyRef();
                    var configRef = env.getValueFrom().getConfigMapKeyRef();
                    String what = w.name() + " env " + env.getName();
                    if (secretRef != null && !source.externalSecrets().contains(secretRef.getName())
                        && !Boolean.TRUE.equals(secretRef.getOptional())) {
                        V1Secret secret = m.get(V1Secret.class, secretRef.getName());
                        assertThat(what, secretRef.getKey(), is(in(Manifests.secretKeys(secret))));
                    }
                    if (configRef != null) {
                        assertThat(what, configRef.getKey(),
                                   is(in(m.get(V1ConfigMap.class, configRef.getName()).getData().keySet())));
                    }
                }
                Objects.requireNonNullElse(c.getEnvFrom(), List.<io.kubernetes.client.openapi.models.V1EnvFromSource>of())
                        .forEach(from -> m.get(V1ConfigMap.class, from.getConfigMapRef().getName()));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void appContainersRunAsNonRootOnAReadOnlyRootFilesystemWithWritableTmp(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.appWorkloads()) {
            V1PodSpec pod = w.template().getSpec();
            V1SecurityContext sc = w.container().getSecurityContext();
            assertThat(w.name() + " runAsNonRoot", pod.getSecurityContext().getRunAsNonRoot(), is(true));
            assertThat(w.name() + " runAsUser", pod.getSecurityContext().getRunAsUser(), is(greaterThan(0L)));
            assertThat(w.name() + " seccomp", pod.getSecurityContext().getSeccompProfile().getType(), is("RuntimeDefault"));
            assertThat(w.name() + " readOnlyRootFilesystem", sc.getReadOnlyRootFilesystem(), is(true));
            assertThat(w.name() + " allowPrivilegeEscalation", sc.getAllowPrivilegeEscalation(), is(false));
            assertThat(w.name() + " capabilities", sc.getCapabilities().getDrop(), is(List.of("ALL")));
            assertThat(w.name() + " service account token", pod.getAutomountServiceAccountToken(), is(false));
            V1Volume tmp = pod.getVolumes().stream()
                    .filter(v -> w.container().getVolumeMounts().stream()
                            .anyMatch(mount -> mount.getMountPath().equals("/tmp") && mount.getName().equals(v.getName())))
                    .findFirst().orElseThrow(() -> new AssertionError(w.name() + " mounts no volume at /tmp"));
            assertThat(w.name() + " /tmp is an emptyDir", tmp.getEmptyDir(), is(notNullValue()));
            assertThat(w.name() + " data dir under /tmp", m.envValue(w.container(), "KVSTREAM_DATA_DIR").orElseThrow()
                    .startsWith("/tmp/"), is(true));
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void everyContainerNeverEscalatesAndHasResourceRequestsAndLimits(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.workloads()) {
            assertThat(w.name() + " runAsNonRoot", w.template().getSpec().getSecurityContext().getRunAsNonRoot(), is(true));
            for (V1Container c : w.containers()) {
                String what = w.name() + "/" + c.getName();
                assertThat(what + " allowPrivilegeEscalation", c.getSecurityContext().getAllowPrivilegeEscalation(), is(false));
                assertThat(what + " requests", c.getResources().getRequests().keySet(), is(Set.of("cpu", "memory")));
                assertThat(what + " limits", c.getResources().getLimits().keySet(), is(Set.of("cpu", "memory")));
                for (String resource : List.of("cpu", "memory")) {
                    assertThat(what + " " + resource + " request <= limit",
                               c.getResources().getRequests().get(resource).getNumber()
                                       .compareTo(c.getResources().getLimits().get(resource).getNumber()) <= 0, is(true));
                }
            }
        }
    }

    /**
     * A floating tag ({@code latest}, {@code 17}, {@code 4-management}) pulls a different server whenever a pod
     * is rescheduled: every image names at least major.minor ({@code postgres:17.6}, {@code rabbitmq:4.1.4-management}).
     */
    @ParameterizedTest
    @MethodSource("sources")
    void imagesArePinnedToAtLeastAMinorVersion(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.workloads()) {
            for (V1Container c : w.containers()) {
                String image = c.getImage();
                String tag = image.contains(":") ? image.substring(image.lastIndexOf(':') + 1) : "";
                assertThat(w.name() + " image " + image, PINNED_TAG.matcher(tag).matches(), is(true));
            }
        }
    }

    static final java.util.regex.Pattern PINNED_TAG = java.util.regex.Pattern.compile("\\d+\\.\\d+(\\.\\d+)*(-[A-Za-z0-9.]+)?");

    /**
     * {@code app.kubernetes.io/version} and {@code helm.sh/chart} change with every release; on a pod template they
     * roll the pods for nothing, the single PostgreSQL and RabbitMQ servers included.
     */
    @ParameterizedTest
    @MethodSource("sources")
    void podTemplatesCarryNoVersionOrChartLabels(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.workloads()) {
            assertThat(w.name() + " pod labels", w.podLabels().keySet().stream()
                    .filter(UNSTABLE_LABELS::contains).toList(), is(empty()));
        }
    }

    static final Set<String> UNSTABLE_LABELS = Set.of("app.kubernetes.io/version", "helm.sh/chart");

    @ParameterizedTest
    @MethodSource("sources")
    void everyAppRoleHasADisruptionBudgetSelectingOnlyItsPods(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.appWorkloads()) {
            List<V1PodDisruptionBudget> budgets = m.all(V1PodDisruptionBudget.class).stream()
                    .filter(pdb -> m.selectedBy(pdb.getSpec().getSelector().getMatchLabels()).contains(w)).toList();
            assertThat(w.name() + " PDBs", budgets.size(), is(1));
            assertThat(w.name() + " PDB selects", m.selectedBy(budgets.getFirst().getSpec().getSelector().getMatchLabels()),
                       is(List.of(w)));
            assertThat(w.name() + " PDB maxUnavailable", budgets.getFirst().getSpec().getMaxUnavailable(),
                       is(new IntOrString(1)));
            // An outage that leaves the role's pods unready must not also block node drains.
            assertThat(w.name() + " PDB unhealthyPodEvictionPolicy",
                       budgets.getFirst().getSpec().getUnhealthyPodEvictionPolicy(), is("AlwaysAllow"));
        }
    }

    /**
     * Each app role and the RabbitMQ nodes prefer distinct nodes and zones; ScheduleAnyway, so a one-node dev cluster
     * still runs them.
     */
    @ParameterizedTest
    @MethodSource("sources")
    void appAndBrokerPodsSpreadOverNodesAndZonesAsAPreference(Source source) {
        Manifests m = source.manifests().get();
        List<Workload> spread = new ArrayList<>(m.appWorkloads());
        // A quorum survives the loss of a node or zone only if no two of its members share it.
        m.workloads().stream().filter(w -> w.component().equals("rabbitmq")).forEach(spread::add);

        for (Workload w : spread) {
            var constraints = Objects.requireNonNullElse(w.template().getSpec().getTopologySpreadConstraints(),
                                                         List.<io.kubernetes.client.openapi.models.V1TopologySpreadConstraint>of());
            assertThat(w.name() + " topology keys", constraints.stream().map(c -> c.getTopologyKey()).toList(),
                       is(List.of("kubernetes.io/hostname", "topology.kubernetes.io/zone")));
            for (var c : constraints) {
                String what = w.name() + " " + c.getTopologyKey();
                assertThat(what + " whenUnsatisfiable", c.getWhenUnsatisfiable(), is("ScheduleAnyway"));
                assertThat(what + " maxSkew", c.getMaxSkew(), is(1));
                assertThat(what + " selects", m.selectedBy(c.getLabelSelector().getMatchLabels()), is(List.of(w)));
            }
        }
    }

    /** Scale-down waits 5 minutes of low load and then removes one API pod a minute (each loads a full snapshot). */
    @ParameterizedTest
    @MethodSource("sources")
    void hpaScalesDownSlowly(Source source) {
        for (V2HorizontalPodAutoscaler hpa : source.manifests().get().all(V2HorizontalPodAutoscaler.class)) {
            var scaleDown = hpa.getSpec().getBehavior().getScaleDown();
            assertThat(scaleDown.getStabilizationWindowSeconds(), is(300));
            assertThat(scaleDown.getPolicies().size(), is(1));
            assertThat(scaleDown.getPolicies().getFirst().getType(), is("Pods"));
            assertThat(scaleDown.getPolicies().getFirst().getValue(), is(1));
            assertThat(scaleDown.getPolicies().getFirst().getPeriodSeconds(), is(60));
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void podsThatServeTrafficLeaveTheEndpointsBeforeStoppingAndHaveTimeToDrain(Source source) {
        Manifests m = source.manifests().get();

        for (Workload w : m.appWorkloads()) {
            long grace = w.template().getSpec().getTerminationGracePeriodSeconds();
            long helidonShutdownGrace = 10;
            if (w.component().equals("worker")) {
                assertThat(w.name() + " grace", grace, is(greaterThan(helidonShutdownGrace)));
                continue;
            }
            long preStop = w.container().getLifecycle().getPreStop().getSleep().getSeconds();
            assertThat(w.name() + " preStop sleep", preStop, is(greaterThan(0L)));
            assertThat(w.name() + " grace > preStop + shutdown grace", grace, is(greaterThan(preStop + helidonShutdownGrace)));
            var rollingUpdate = m.all(io.kubernetes.client.openapi.models.V1Deployment.class).stream()
                    .filter(d -> d.getMetadata().getName().equals(w.name())).findFirst().orElseThrow()
                    .getSpec().getStrategy().getRollingUpdate();
            assertThat(w.name() + " keeps capacity during a rollout", rollingUpdate.getMaxUnavailable(),
                       is(new IntOrString(0)));
        }
    }

    @ParameterizedTest
    @MethodSource("sources")
    void apiIsAutoscaledOrFixedAndProtectedByADisruptionBudget(Source source) {
        Manifests m = source.manifests().get();
        Workload api = m.workload("api");
        List<V2HorizontalPodAutoscaler> hpas = m.all(V2HorizontalPodAutoscaler.class);

        if (hpas.isEmpty()) {
            assertThat("fixed API replicas", api.replicas(), is(greaterThan(1)));
        } else {
            V2HorizontalPodAutoscaler hpa = hpas.getFirst();
            assertThat(hpa.getSpec().getScaleTargetRef().getName(), is(api.name()));
            assertThat(hpa.getSpec().getScaleTargetRef().getKind(), is("Deployment"));
            assertThat(hpa.getSpec().getMetrics().getFirst().getResource().getName(), is("cpu"));
            assertThat("the HPA owns the replica count", api.replicas(), is((Object) null));
        }
        V1PodDisruptionBudget pdb = m.get(V1PodDisruptionBudget.class, api.name());
        assertThat(m.selectedBy(pdb.getSpec().getSelector().getMatchLabels()), is(List.of(api)));
        assertThat(pdb.getSpec().getMaxUnavailable(), is(new IntOrString(1)));
    }

    /** epmd and the Erlang distribution port: the only traffic between RabbitMQ nodes. */
    static final List<Integer> RABBITMQ_CLUSTERING_PORTS = List.of(4369, 25672);

    @ParameterizedTest
    @MethodSource("sources")
    void bundledServersAdmitOnlyAppPodsAndTheirClusterPeersAndAppPodsAdmitOnlyTheAppPortFromTheIngressAndMonitoringNamespaces(Source source) {
        Manifests m = source.manifests().get();
        List<Workload> appPods = m.appWorkloads();

        for (V1NetworkPolicy policy : m.all(V1NetworkPolicy.class)) {
            List<Workload> protectedPods = selected(m, policy.getSpec().getPodSelector());
            assertThat(policy.getMetadata().getName() + " selects pods", protectedPods, is(not(empty())));
            assertThat(policy.getSpec().getPolicyTypes(), is(List.of("Ingress")));
            for (V1NetworkPolicyIngressRule rule : policy.getSpec().getIngress()) {
                if (protectedPods.equals(appPods)) {
                    assertThat(rule.getPorts().stream().map(p -> p.getPort().getIntValue()).toList(), is(List.of(APP_PORT)));
                    // Only the Ingress controller's namespace and Prometheus's: /observe/* and /replica are for no one else.
                    assertThat(policy.getMetadata().getName() + " admits", rule.getFrom().stream()
                                       .map(peer -> peer.getPodSelector() == null && peer.getIpBlock() == null
                                                    ? peer.getNamespaceSelector().getMatchLabels() : Map.of())
                                       .toList(),
                               is(List.of(Map.of("kubernetes.io/metadata.name", "ingress-nginx"),
                                          Map.of("kubernetes.io/metadata.name", "monitoring"))));
                    continue;
                }
                assertThat(policy.getMetadata().getName() + " names its sources", rule.getFrom(), is(not(empty())));
                List<Integer> ports = rule.getPorts().stream().map(p -> p.getPort().getIntValue()).toList();
                if (ports.equals(List.of(RABBITMQ_METRICS_PORT))) {
                    // rabbitmq_prometheus, for Prometheus's namespace alone.
                    assertThat(protectedPods.getFirst().component(), is("rabbitmq"));
                    assertThat(policy.getMetadata().getName() + " admits to metrics", rule.getFrom().stream()
                                       .map(peer -> peer.getPodSelector() == null && peer.getIpBlock() == null
                                                    ? peer.getNamespaceSelector().getMatchLabels() : Map.of())
                                       .toList(),
                               is(List.of(Map.of("kubernetes.io/metadata.name", "monitoring"))));
                    continue;
                }
                for (V1NetworkPolicyPeer peer : rule.getFrom()) {
                    List<Workload> sources = selected(m, peer.getPodSelector());
                    if (ports.equals(RABBITMQ_CLUSTERING_PORTS)) {
                        // The RabbitMQ nodes form a cluster: epmd and Erlang distribution between them, nothing else.
                        assertThat(policy.getMetadata().getName() + " admits to clustering", sources, is(protectedPods));
                        assertThat(sources.getFirst().component(), is("rabbitmq"));
                        continue;
                    }
                    assertThat(policy.getMetadata().getName() + " admits", sources, is(appPods));
                    assertThat(peer.getNamespaceSelector(), is((Object) null));
                    assertThat(peer.getIpBlock(), is((Object) null));
                }
            }
        }
        List<Workload> bundled = new ArrayList<>(m.workloads());
        bundled.removeAll(appPods);
        for (Workload server : bundled) {
            assertThat(server.name() + " is behind a NetworkPolicy", m.all(V1NetworkPolicy.class).stream()
                    .anyMatch(p -> selected(m, p.getSpec().getPodSelector()).equals(List.of(server))), is(true));
        }
        assertThat(appPods, everyItem(is(in(m.all(V1NetworkPolicy.class).stream()
                .flatMap(p -> selected(m, p.getSpec().getPodSelector()).stream()).toList()))));
    }

    /**
     * The bundled RabbitMQ nodes: a stopping node of a cluster waits (bounded, within its grace period) until every
     * quorum queue keeps a majority without it, a lone node does not; each counts on its container's memory limit; and
     * its metrics port is declared.
     */
    @ParameterizedTest
    @MethodSource("sources")
    void rabbitmqNodesStopOnlyWithAMajorityLeftAndCountOnTheirMemoryLimit(Source source) {
        Manifests m = source.manifests().get();
        Workload rabbitmq = m.workloads().stream().filter(w -> w.component().equals("rabbitmq")).findFirst().orElse(null);
        if (rabbitmq == null) {
            return;
        }
        V1Container node = rabbitmq.container();
        V1PodSpec pod = rabbitmq.template().getSpec();

        if (rabbitmq.replicas() > 1) {
            String preStop = String.join(" ", node.getLifecycle().getPreStop().getExec().getCommand());
            java.util.regex.Matcher wait = java.util.regex.Pattern
                    .compile("rabbitmq-upgrade -q await_online_quorum_plus_one -t (\\d+); rabbitmq-upgrade -q drain -t (\\d+)")
                    .matcher(preStop);
            assertThat(preStop, wait.find(), is(true));
            assertThat(pod.getTerminationGracePeriodSeconds(),
                       is(greaterThan(Long.parseLong(wait.group(1)) + Long.parseLong(wait.group(2)))));
        } else {
            assertThat(node.getLifecycle(), is((Object) null));
        }
        long limit = node.getResources().getLimits().get("memory").getNumber().longValueExact();
        assertThat(m.get(V1ConfigMap.class, "kvstream-rabbitmq-config").getData().get("kvstream.conf"),
                   containsString("\ntotal_memory_available_override_value = " + limit + "\n"));
        assertThat(node.getPorts().stream().filter(p -> "prometheus".equals(p.getName()))
                           .map(V1ContainerPort::getContainerPort).toList(), is(List.of(RABBITMQ_METRICS_PORT)));
    }

    static final int RABBITMQ_METRICS_PORT = 15692;

    // ---- helpers --------------------------------------------------------------------------------------------

    static void assertProbe(String what, V1Container container, V1Probe probe, String path) {
        assertThat(what + " probe", probe, is(notNullValue()));
        assertThat(what + " path", probe.getHttpGet().getPath(), is(path));
        assertThat(what + " port", containerPort(container.getPorts(), probe.getHttpGet().getPort()).getContainerPort(),
                   is(APP_PORT));
    }

    /** The container port a Service targetPort or probe port refers to, by name or by number; null if none. */
    static V1ContainerPort containerPort(List<V1ContainerPort> ports, IntOrString ref) {
        return ports.stream()
                .filter(p -> ref.isInteger() ? p.getContainerPort().equals(ref.getIntValue())
                                             : ref.getStrValue().equals(p.getName()))
                .findFirst().orElse(null);
    }

    /** Workloads whose pods a label selector (matchLabels and matchExpressions with In) selects. */
    static List<Workload> selected(Manifests m, V1LabelSelector selector) {
        return m.workloads().stream().filter(w -> {
            Map<String, String> labels = w.podLabels();
            boolean matches = selector.getMatchLabels() == null
                              || labels.entrySet().containsAll(selector.getMatchLabels().entrySet());
            for (V1LabelSelectorRequirement r : Objects.requireNonNullElse(selector.getMatchExpressions(),
                                                                            List.<V1LabelSelectorRequirement>of())) {
                if (!r.getOperator().equals("In")) {
                    throw new AssertionError("selector operator " + r.getOperator() + " not supported by this test");
                }
                matches &= r.getValues().contains(labels.get(r.getKey()));
            }
            return matches;
        }).toList();
    }
}
