package io.kvstream.deploy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.kubernetes.client.custom.IntOrString;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1Job;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V2HorizontalPodAutoscaler;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/**
 * Every kvstream pod at the most at once, each with a full pool, plus the migration Job, plus what PostgreSQL keeps
 * for superusers and an operator's sessions, fits in the bundled server's {@code max_connections}: in the chart's
 * default render and in the kustomize base. "At the most": an autoscaled Deployment at its HPA's maxReplicas, and
 * every Deployment with its rolling update's surge pod.
 */
class ConnectionBudgetTest {
    /** Flyway holds up to two connections while it migrates (one for its lock and history, one for the DDL). */
    static final int MIGRATION_CONNECTIONS = 2;
    /** PostgreSQL's superuser_reserved_connections default, which the bundled server keeps. */
    static final int SUPERUSER_RESERVED = 3;
    /** psql sessions of an operator and a metrics exporter's. */
    static final int OPERATOR_HEADROOM = 10;

    @Test
    void chartDefaultFitsTheBundledServer() {
        assertFits(Manifests.helmDefault());
    }

    @Test
    void kustomizeBaseFitsTheBundledServer() {
        assertFits(Manifests.kustomize(Manifests.KUSTOMIZE_BASE));
    }

    @Test
    void chartDefaultBudgetIsWhatItsValuesSay() {
        // api: HPA max 10 + 1 surge, pool 4; worker: 2 + 1 surge, pool 6; websocket: 2 + 1 surge, pool 4
        assertThat(appConnections(Manifests.helmDefault()), is(11 * 4 + 3 * 6 + 3 * 4));
    }

    static void assertFits(Manifests manifests) {
        int needed = appConnections(manifests) + MIGRATION_CONNECTIONS * manifests.all(V1Job.class).size()
                     + SUPERUSER_RESERVED + OPERATOR_HEADROOM;
        assertThat(manifests.source() + ": connections needed at the most", needed,
                   lessThanOrEqualTo(maxConnections(manifests)));
    }

    /** Σ over the kvstream Deployments of (pods at the most × KVSTREAM_DB_POOL_SIZE). */
    static int appConnections(Manifests manifests) {
        List<String> missing = new ArrayList<>();
        int total = 0;
        for (V1Deployment deployment : manifests.all(V1Deployment.class)) {
            String name = deployment.getMetadata().getName();
            V1Container container = deployment.getSpec().getTemplate().getSpec().getContainers().getFirst();
            Optional<String> pool = manifests.envValue(container, "KVSTREAM_DB_POOL_SIZE");
            if (pool.isEmpty()) {
                missing.add(name);
                continue;
            }
            total += (maxPods(manifests, deployment) + surge(deployment)) * Integer.parseInt(pool.get());
        }
        assertThat("Deployments without KVSTREAM_DB_POOL_SIZE (the pool would be application.yaml's)", missing,
                   is(List.of()));
        return total;
    }

    static int maxPods(Manifests manifests, V1Deployment deployment) {
        return manifests.all(V2HorizontalPodAutoscaler.class).stream()
                .filter(hpa -> hpa.getSpec().getScaleTargetRef().getKind().equals("Deployment")
                               && hpa.getSpec().getScaleTargetRef().getName().equals(deployment.getMetadata().getName()))
                .map(hpa -> hpa.getSpec().getMaxReplicas())
                .findFirst()
                .orElse(deployment.getSpec().getReplicas());
    }

    /** Extra pods a rolling update runs at once: maxSurge, Kubernetes' 25% (rounded up) when not set. */
    static int surge(V1Deployment deployment) {
        var strategy = deployment.getSpec().getStrategy();
        IntOrString maxSurge = strategy == null || strategy.getRollingUpdate() == null
                ? null : strategy.getRollingUpdate().getMaxSurge();
        if (maxSurge == null) {
            maxSurge = new IntOrString("25%");
        }
        if (maxSurge.isInteger()) {
            return maxSurge.getIntValue();
        }
        int percent = Integer.parseInt(maxSurge.getStrValue().replace("%", ""));
        return (int) Math.ceil(deployment.getSpec().getReplicas() == null ? 1
                                       : deployment.getSpec().getReplicas() * percent / 100.0);
    }

    /** The bundled server's {@code -c max_connections=N}; it must be set explicitly. */
    static int maxConnections(Manifests manifests) {
        V1StatefulSet postgres = manifests.all(V1StatefulSet.class).stream()
                .filter(s -> "postgresql".equals(s.getSpec().getTemplate().getMetadata().getLabels()
                                                        .get(Manifests.COMPONENT)))
                .findFirst().orElseThrow();
        List<String> args = postgres.getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs();
        int at = args == null ? -1 : args.indexOf("-c");
        while (at >= 0 && at + 1 < args.size()) {
            if (args.get(at + 1).startsWith("max_connections=")) {
                return Integer.parseInt(args.get(at + 1).substring("max_connections=".length()));
            }
            int next = args.subList(at + 1, args.size()).indexOf("-c");
            at = next < 0 ? -1 : at + 1 + next;
        }
        throw new AssertionError(manifests.source() + ": PostgreSQL's max_connections is not set explicitly (-c)");
    }
}
