package io.kvstream.deploy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Ingress;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V2HorizontalPodAutoscaler;
import io.kvstream.deploy.Manifests.Workload;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * The chart's default render and the kustomize base describe the same deployment: same objects, and for each
 * the same spec, apart from Helm's bookkeeping labels and the config checksum that rolls pods on change.
 * Whoever changes one must change the other; this test names the first difference.
 */
class TopologyParityTest {
    /** Labels only Helm adds (chart version, managed-by); everything else must be identical. */
    static final Set<String> HELM_ONLY_LABELS = Set.of("helm.sh/chart", "app.kubernetes.io/version",
                                                       "app.kubernetes.io/managed-by");

    final Manifests chart = Manifests.helmDefault();
    final Manifests base = Manifests.kustomize(Manifests.KUSTOMIZE_BASE);

    @Test
    void sameObjectsByKindAndName() {
        assertThat(HelmChartTest.kindsAndNames(chart), is(HelmChartTest.kindsAndNames(base)));
    }

    @Test
    void sameWorkloadsWithTheSameSelectorsReplicasAndPodLabels() {
        for (Workload expected : base.workloads()) {
            Workload actual = chart.workload(expected.component());
            assertThat(expected.name(), actual.kind() + "/" + actual.name(), is(expected.kind() + "/" + expected.name()));
            assertThat(expected.name() + " selector", actual.selector(), is(expected.selector()));
            assertThat(expected.name() + " replicas", actual.replicas(), is(expected.replicas()));
            assertThat(expected.name() + " pod labels", withoutHelmLabels(actual.podLabels()), is(expected.podLabels()));
        }
    }

    @Test
    void samePodSpecsAspectByAspect() {
        Map<String, Function<V1PodSpec, Object>> podAspects = new LinkedHashMap<>();
        podAspects.put("securityContext", V1PodSpec::getSecurityContext);
        podAspects.put("volumes", V1PodSpec::getVolumes);
        podAspects.put("terminationGracePeriodSeconds", V1PodSpec::getTerminationGracePeriodSeconds);
        podAspects.put("automountServiceAccountToken", V1PodSpec::getAutomountServiceAccountToken);
        podAspects.put("topologySpreadConstraints", V1PodSpec::getTopologySpreadConstraints);
        podAspects.put("priorityClassName", V1PodSpec::getPriorityClassName);
        podAspects.put("container count", spec -> spec.getContainers().size());
        Map<String, Function<V1Container, Object>> containerAspects = new LinkedHashMap<>();
        containerAspects.put("name", V1Container::getName);
        containerAspects.put("image", V1Container::getImage);
        containerAspects.put("ports", V1Container::getPorts);
        containerAspects.put("env", V1Container::getEnv);
        containerAspects.put("envFrom", V1Container::getEnvFrom);
        containerAspects.put("startupProbe", V1Container::getStartupProbe);
        containerAspects.put("livenessProbe", V1Container::getLivenessProbe);
        containerAspects.put("readinessProbe", V1Container::getReadinessProbe);
        containerAspects.put("lifecycle", V1Container::getLifecycle);
        containerAspects.put("resources", V1Container::getResources);
        containerAspects.put("securityContext", V1Container::getSecurityContext);
        containerAspects.put("volumeMounts", V1Container::getVolumeMounts);

        for (Workload expected : base.workloads()) {
            V1PodSpec expectedPod = expected.template().getSpec();
            V1PodSpec actualPod = chart.workload(expected.component()).template().getSpec();
            podAspects.forEach((aspect, get) -> assertThat(
                    expected.name() + " " + aspect, get.apply(actualPod), is(get.apply(expectedPod))));
            for (int i = 0; i < expectedPod.getContainers().size(); i++) {
                V1Container e = expectedPod.getContainers().get(i);
                V1Container a = actualPod.getContainers().get(i);
                containerAspects.forEach((aspect, get) -> assertThat(
                        expected.name() + "/" + e.getName() + " " + aspect, get.apply(a), is(get.apply(e))));
            }
        }
    }

    @Test
    void sameEnvVarNamesPerRole() {
        for (String role : Manifests.APP_COMPONENTS) {
            assertThat(role, chart.envNames(chart.workload(role).container()),
                       is(base.envNames(base.workload(role).container())));
        }
    }

    @Test
    void sameConfigMapDataAndSecretKeys() {
        assertThat(chart.get(V1ConfigMap.class, "kvstream-config").getData(),
                   is(base.get(V1ConfigMap.class, "kvstream-config").getData()));
        assertThat(Manifests.secretKeys(chart.get(V1Secret.class, "kvstream-secrets")),
                   is(Manifests.secretKeys(base.get(V1Secret.class, "kvstream-secrets"))));
    }

    @Test
    void sameServicesIngressPoliciesAutoscalingAndVolumes() {
        for (V1Service expected : base.all(V1Service.class)) {
            String name = expected.getMetadata().getName();
            assertThat("Service " + name, chart.get(V1Service.class, name).getSpec(), is(expected.getSpec()));
        }
        for (V1NetworkPolicy expected : base.all(V1NetworkPolicy.class)) {
            String name = expected.getMetadata().getName();
            assertThat("NetworkPolicy " + name, chart.get(V1NetworkPolicy.class, name).getSpec(), is(expected.getSpec()));
        }
        for (V1StatefulSet expected : base.all(V1StatefulSet.class)) {
            String name = expected.getMetadata().getName();
            assertThat("StatefulSet " + name + " volumeClaimTemplates",
                       chart.get(V1StatefulSet.class, name).getSpec().getVolumeClaimTemplates(),
                       is(expected.getSpec().getVolumeClaimTemplates()));
        }
        V1Ingress ingress = base.get(V1Ingress.class, "kvstream");
        assertThat(chart.get(V1Ingress.class, "kvstream").getSpec(), is(ingress.getSpec()));
        assertThat(chart.get(V1Ingress.class, "kvstream").getMetadata().getAnnotations(),
                   is(ingress.getMetadata().getAnnotations()));
        assertThat(chart.get(V2HorizontalPodAutoscaler.class, "kvstream-api").getSpec(),
                   is(base.get(V2HorizontalPodAutoscaler.class, "kvstream-api").getSpec()));
        for (V1PodDisruptionBudget expected : base.all(V1PodDisruptionBudget.class)) {
            String name = expected.getMetadata().getName();
            assertThat("PodDisruptionBudget " + name, chart.get(V1PodDisruptionBudget.class, name).getSpec(),
                       is(expected.getSpec()));
        }
    }

    static Map<String, String> withoutHelmLabels(Map<String, String> labels) {
        Map<String, String> result = new TreeMap<>(labels);
        result.keySet().removeAll(HELM_ONLY_LABELS);
        return result;
    }
}
