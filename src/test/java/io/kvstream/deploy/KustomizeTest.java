package io.kvstream.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V2HorizontalPodAutoscaler;
import io.kvstream.testing.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.kvstream.deploy.Manifests.KUSTOMIZE_BASE;
import static io.kvstream.deploy.Manifests.KUSTOMIZE_DEV;
import static io.kvstream.deploy.Manifests.kustomize;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The kustomize base is valid by itself and namespace-less; the dev overlay only patches it. Both are built by
 * the test's own kustomize subset ({@link Manifests.Kustomize}), which is compared with {@code kubectl kustomize}
 * where kubectl is installed (always under CI: .ci/run installs it).
 */
class KustomizeTest {
    @Test
    void baseBuildsIntoTheWholeTopology() {
        assertThat(HelmChartTest.kindsAndNames(kustomize(KUSTOMIZE_BASE)),
                   is(HelmChartTest.kindsAndNames(Manifests.helmDefault())));
    }

    @Test
    void baseIsNamespaceLess() {
        for (KubernetesObject object : kustomize(KUSTOMIZE_BASE).all()) {
            assertThat(object.getKind() + " " + object.getMetadata().getName(), object.getMetadata().getNamespace(),
                       is(nullValue()));
        }
    }

    @Test
    void devOverlayOnlyPatchesTheBase() {
        Map<String, Object> overlay = Manifests.yamlFile(KUSTOMIZE_DEV.resolve("kustomization.yaml"));

        assertThat(overlay.get("resources"), is(List.of("../../base")));
        assertThat(new HashSet<>(overlay.keySet()), is(Set.of("apiVersion", "kind", "resources", "patches")));
        assertThat(HelmChartTest.kindsAndNames(kustomize(KUSTOMIZE_DEV)),
                   is(HelmChartTest.kindsAndNames(kustomize(KUSTOMIZE_BASE))));
    }

    @Test
    void devOverlayRunsOnePodPerRoleWithSmallerRequests() {
        Manifests dev = kustomize(KUSTOMIZE_DEV);

        assertThat(dev.get(V2HorizontalPodAutoscaler.class, "kvstream-api").getSpec().getMinReplicas(), is(1));
        assertThat(dev.get(V1Deployment.class, "kvstream-worker").getSpec().getReplicas(), is(1));
        assertThat(dev.get(V1Deployment.class, "kvstream-websocket").getSpec().getReplicas(), is(1));
        assertThat(dev.get(io.kubernetes.client.openapi.models.V1StatefulSet.class, "kvstream-rabbitmq").getSpec()
                           .getReplicas(), is(1));
        assertThat(dev.workload("api").container().getResources().getRequests().get("memory").toSuffixedString(),
                   is("256Mi"));
    }

    @Test
    void devOverlayKeepsEverythingItDoesNotPatch() {
        var base = kustomize(KUSTOMIZE_BASE).workload("api").container();
        var dev = kustomize(KUSTOMIZE_DEV).workload("api").container();

        assertThat(dev.getEnv(), is(base.getEnv()));
        assertThat(dev.getReadinessProbe(), is(base.getReadinessProbe()));
        assertThat(dev.getSecurityContext(), is(base.getSecurityContext()));
        assertThat(kustomize(KUSTOMIZE_DEV).get(io.kubernetes.client.openapi.models.V1StatefulSet.class, "kvstream-postgres")
                           .getSpec().getVolumeClaimTemplates().getFirst().getSpec().getAccessModes(),
                   is(List.of("ReadWriteOnce")));
    }

    @Test
    void builderRejectsKustomizeFeaturesItDoesNotImplement(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("kustomization.yaml"), """
                resources: [../base]
                commonLabels:
                  team: kv
                """);

        Exception failure = assertThrows(IllegalArgumentException.class, () -> Manifests.Kustomize.build(dir));

        assertThat(failure.getMessage(), containsString("commonLabels"));
    }

    @Test
    void builderAgreesWithKubectlKustomizeWhereKubectlIsInstalled() throws Exception {
        Tools.require(kubectlAvailable(), "kubectl (apt-get install -y kubernetes-client)");

        for (Path dir : List.of(KUSTOMIZE_BASE, KUSTOMIZE_DEV)) {
            List<Map<String, Object>> expected = Manifests.yamlDocuments(kubectlKustomize(dir));
            List<Map<String, Object>> actual = Manifests.Kustomize.build(dir);

            assertThat(dir.toString(), new HashSet<>(actual), is(new HashSet<>(expected)));
        }
    }

    static boolean kubectlAvailable() {
        try {
            Process process = new ProcessBuilder("kubectl", "version", "--client").redirectErrorStream(true).start();
            process.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            return process.waitFor(20, TimeUnit.SECONDS) && process.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static String kubectlKustomize(Path dir) throws IOException, InterruptedException {
        Process process = new ProcessBuilder("kubectl", "kustomize", dir.toString()).start();
        String out = new String(process.getInputStream().readAllBytes());
        String err = new String(process.getErrorStream().readAllBytes());
        assertThat("kubectl kustomize " + dir + " finished", process.waitFor(30, TimeUnit.SECONDS), is(true));
        assertThat("kubectl kustomize " + dir + ": " + err, process.exitValue(), is(0));
        return out;
    }
}
