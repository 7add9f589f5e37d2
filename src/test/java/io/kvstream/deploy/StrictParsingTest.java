package io.kvstream.deploy;

import io.kubernetes.client.openapi.models.V1Deployment;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The strict parser the other deploy tests rely on really rejects what the API server would reject, so a typo
 * in a manifest or template cannot pass unnoticed.
 */
class StrictParsingTest {
    static final String DEPLOYMENT = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: demo
            spec:
              replicas: 2
              selector:
                matchLabels: {app: demo}
              template:
                metadata:
                  labels: {app: demo}
                spec:
                  containers:
                    - name: demo
                      image: kvstream:0.1.0
                      readinessProbe:
                        httpGet: {path: /observe/health/ready, port: 8080}
            """;

    @Test
    void wellFormedDeploymentParses() {
        Manifests parsed = Manifests.parse("test", DEPLOYMENT);

        assertThat(parsed.all().getFirst(), is(instanceOf(V1Deployment.class)));
        assertThat(((V1Deployment) parsed.all().getFirst()).getSpec().getReplicas(), is(2));
    }

    @Test
    void misspeltSpecFieldIsRejected() {
        Exception failure = assertThrows(IllegalArgumentException.class,
                                         () -> Manifests.parse("test", DEPLOYMENT.replace("replicas:", "replicass:")));

        assertThat(failure.getMessage(), containsString("replicass"));
    }

    @Test
    void misspeltNestedContainerFieldIsRejected() {
        Exception failure = assertThrows(IllegalArgumentException.class,
                                         () -> Manifests.parse("test", DEPLOYMENT.replace("path:", "pathh:")));

        assertThat(failure.getMessage(), containsString("pathh"));
    }

    @Test
    void missingRequiredFieldIsRejected() {
        String withoutSelector = DEPLOYMENT.replace("  selector:\n    matchLabels: {app: demo}\n", "");

        Exception failure = assertThrows(IllegalArgumentException.class, () -> Manifests.parse("test", withoutSelector));

        assertThat(failure.getMessage(), containsString("selector"));
    }

    @Test
    void numberWhereTheSchemaWantsTextIsRejected() {
        Exception failure = assertThrows(IllegalArgumentException.class,
                                         () -> Manifests.parse("test", DEPLOYMENT.replace("image: kvstream:0.1.0", "image: 7")));

        assertThat(failure.getMessage(), containsString(".spec.template.spec.containers[0].image has the wrong type"));
    }

    @Test
    void textWhereTheSchemaWantsANumberIsRejected() {
        Exception failure = assertThrows(IllegalArgumentException.class,
                                         () -> Manifests.parse("test", DEPLOYMENT.replace("replicas: 2", "replicas: \"2\"")));

        assertThat(failure.getMessage(), containsString(".spec.replicas has the wrong type"));
    }

    @Test
    void unquotedNumberInConfigMapDataIsRejected() {
        String configMap = """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: demo}
                data:
                  KVSTREAM_MAX_VALUE_BYTES: 1048576
                """;

        Exception failure = assertThrows(IllegalArgumentException.class, () -> Manifests.parse("test", configMap));

        assertThat(failure.getMessage(), containsString("KVSTREAM_MAX_VALUE_BYTES has the wrong type"));
    }

    @Test
    void quantitiesMayBeWrittenAsNumbers() {
        String withNumericCpu = DEPLOYMENT.replace("image: kvstream:0.1.0",
                                                   "image: kvstream:0.1.0\n          resources: {limits: {cpu: 1}}");

        assertThat(Manifests.parse("test", withNumericCpu).all().size(), is(1));
    }

    @Test
    void unknownKindIsRejected() {
        Exception failure = assertThrows(IllegalArgumentException.class,
                                         () -> Manifests.parse("test", DEPLOYMENT.replace("kind: Deployment", "kind: Deploymnet")));

        assertThat(failure.getMessage(), containsString("Deploymnet"));
    }
}
