package io.kvstream.deploy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import org.junit.jupiter.api.Test;

import static io.kvstream.deploy.Manifests.CHART;
import static io.kvstream.deploy.Manifests.KEYS_WITHOUT_DEFAULT;
import static io.kvstream.deploy.Manifests.ROOT;
import static io.kvstream.deploy.Manifests.envVarName;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * src/main/resources/application.yaml is the one place a default is written. Everything that repeats one must say
 * the same: README's Configuration table, the Helm chart's {@code config:} / {@code auth:} values (and any
 * {@code default} in values.schema.json), the kustomize ConfigMap and the chart's rendered ConfigMap, apart from
 * the deliberate Kubernetes overrides listed here. A failure lists every disagreement as
 * "file: key = its value, application.yaml = the default".
 */
class DefaultsParityTest {
    static final Path README = ROOT.resolve("README.md");
    static final String KUSTOMIZE_CONFIGMAP = "k8s/base/configmap.yaml";
    static final Path VALUES = CHART.resolve("values.yaml");
    static final Path VALUES_SCHEMA = CHART.resolve("values.schema.json");
    static final String HELM_CONFIGMAP = "helm/kvstream/templates/configmap.yaml (rendered with the default values)";

    /**
     * Keys the Kubernetes deployments (both ConfigMaps, the Helm values) deliberately set otherwise than
     * application.yaml, and why. Nothing else may differ; each must be a key the app reads and must really differ.
     */
    static final Map<String, String> KUBERNETES_OVERRIDES = Map.of(
            "kvstream.mode", "prod: refuses to start without PostgreSQL and RabbitMQ and never embeds them",
            "kvstream.data-dir", "/tmp/kvstream: the root filesystem is read-only, /tmp is the pod's emptyDir",
            "kvstream.db.url", "no default: the bundled (or external) PostgreSQL Service and database",
            "kvstream.db.username", "no default: the DML-only user the pods connect as",
            "kvstream.db.migrate", "false: the migration Job migrates, as the schema's owner; the pods run no DDL",
            "kvstream.db.app-role", "the pods' user, granted DML by the migrations",
            "kvstream.amqp.command-queue-type", "quorum: accepted writes survive the loss of a broker node; the "
                                                + "embedded dev broker (Qpid) knows classic only",
            "kvstream.amqp.sync-command-lane", "worker-queues: synchronous writes skip the quorum queue's replication; "
                                               + "the embedded dev broker (Qpid) knows no x-random exchange");

    /** Keys of application.yaml that the ConfigMaps deliberately do not carry, and where they are set instead. */
    static final Map<String, String> NOT_IN_CONFIGMAPS = Map.of(
            "kvstream.role", "each Deployment sets KVSTREAM_ROLE to its own role",
            "kvstream.db.pool-size", "per role: each Deployment sets KVSTREAM_DB_POOL_SIZE (chart: <role>.dbPoolSize)",
            "kvstream.db.schema", "the chart sets it only from externalDatabase.schema; otherwise the default applies");

    /** Helm values under {@code config:} / {@code auth:} that configure the chart itself, not an app key. */
    static final Set<String> CHART_ONLY_VALUES = Set.of("auth.existingSecret", "auth.existingSecretKey");

    /** A row of README's Configuration table: | `key` (`ENV_VAR`) | default | meaning |. */
    static final Pattern README_ROW = Pattern.compile("\\| `([a-z0-9.-]+)` \\(`([A-Z0-9_]+)`\\) \\| ([^|]*) \\|.*\\|");
    /** README's mark for a key without a default. */
    static final String NO_DEFAULT = "–";

    /** application.yaml: every leaf key with its default as text. */
    final Map<String, String> defaults = defaults();
    /** The keys every copy is checked for: server.port and all of kvstream.*. */
    final Set<String> documented = documentedKeys(defaults);
    /** Env var name → key, for every key the app reads. */
    final Map<String, String> keysByEnvVar = keysByEnvVar(defaults);

    // ---- README ----------------------------------------------------------------------------------------------

    @Test
    void readmeTableListsEveryKeyWithItsDefault() {
        Map<String, String> rows = readmeDefaults();
        List<String> problems = new ArrayList<>();

        for (String key : documented) {
            if (!rows.containsKey(key)) {
                problems.add("README.md: no row for " + key + " (application.yaml default " + show(defaults.get(key)) + ")");
            }
        }
        rows.forEach((key, readme) -> {
            if (!isAppKey(key)) {
                problems.add("README.md: " + key + " is no key of application.yaml");
            } else {
                String expected = defaults.getOrDefault(key, NO_DEFAULT);
                if (!readme.equals(expected)) {
                    problems.add(mismatch("README.md", key, readme, expected));
                }
            }
        });

        assertNone(problems);
    }

    /**
     * README's Configuration table as key → default, the default as application.yaml writes it: backticks
     * dropped, {@code ""} for the empty string, {@value #NO_DEFAULT} for none. The env var must be the key's.
     */
    Map<String, String> readmeDefaults() {
        String readme = Manifests.read(README);
        int start = readme.indexOf("\n## Configuration\n");
        assertThat("README.md has a Configuration section", start >= 0, is(true));
        int end = readme.indexOf("\n## ", start + 1);
        Map<String, String> rows = new LinkedHashMap<>();
        for (String line : readme.substring(start, end < 0 ? readme.length() : end).lines().toList()) {
            if (!line.startsWith("|") || line.startsWith("| key ") || line.startsWith("|---")) {
                continue;
            }
            Matcher row = README_ROW.matcher(line);
            assertThat("README.md row not of the form | `key` (`ENV_VAR`) | default | meaning |: " + line,
                       row.matches(), is(true));
            String key = row.group(1);
            assertThat("README.md: env var of " + key, row.group(2), is(envVarName(key)));
            assertThat("README.md: " + key + " listed twice", rows.containsKey(key), is(false));
            rows.put(key, readmeValue(row.group(3).strip()));
        }
        return rows;
    }

    static String readmeValue(String cell) {
        String value = cell.length() >= 2 && cell.startsWith("`") && cell.endsWith("`")
                ? cell.substring(1, cell.length() - 1) : cell;
        return value.equals("\"\"") ? "" : value;
    }

    // ---- ConfigMaps ------------------------------------------------------------------------------------------

    @Test
    void configMapsCarryTheDefaultsApartFromTheDeliberateOverrides() {
        List<String> problems = new ArrayList<>();

        configMaps().forEach((file, data) -> data.forEach((name, value) -> {
            if (!name.startsWith("KVSTREAM_") && !name.startsWith("SERVER_")) {
                return;
            }
            String key = keysByEnvVar.get(name);
            if (key == null) {
                problems.add(file + ": " + name + " maps to no key of application.yaml");
            } else if (KUBERNETES_OVERRIDES.containsKey(key)) {
                return;
            } else if (!defaults.containsKey(key)) {
                problems.add(file + ": " + name + " = " + show(value) + ", but " + key + " has no default in "
                             + "application.yaml; if deliberate, add it to KUBERNETES_OVERRIDES");
            } else if (!value.equals(defaults.get(key))) {
                problems.add(mismatch(file, key + " (" + name + ")", value, defaults.get(key)));
            }
        }));

        assertNone(problems);
    }

    @Test
    void configMapsCarryEveryKeyOrItIsListedAsSetElsewhere() {
        List<String> problems = new ArrayList<>();

        configMaps().forEach((file, data) -> {
            for (String key : documented) {
                boolean carried = data.containsKey(envVarName(key));
                if (!carried && !NOT_IN_CONFIGMAPS.containsKey(key) && defaults.containsKey(key)) {
                    problems.add(file + ": no " + envVarName(key) + " for " + key + " (application.yaml default "
                                 + show(defaults.get(key)) + "); add it, or to NOT_IN_CONFIGMAPS with the reason");
                }
                if (carried && NOT_IN_CONFIGMAPS.containsKey(key)) {
                    problems.add(file + ": carries " + envVarName(key) + ", which NOT_IN_CONFIGMAPS says it does not");
                }
            }
        });

        assertNone(problems);
    }

    @Test
    void deliberateOverridesAndExceptionsAreKeysTheAppReads() {
        List<String> problems = new ArrayList<>();
        Map<String, Map<String, String>> configMaps = configMaps();

        for (String key : KUBERNETES_OVERRIDES.keySet()) {
            if (!isAppKey(key)) {
                problems.add("KUBERNETES_OVERRIDES: " + key + " is no key of application.yaml");
            }
            configMaps.forEach((file, data) -> {
                String value = data.get(envVarName(key));
                if (value == null) {
                    problems.add(file + ": no " + envVarName(key) + ", though KUBERNETES_OVERRIDES lists " + key);
                } else if (value.equals(defaults.get(key))) {
                    problems.add(file + ": " + key + " = " + show(value) + " is the application.yaml default, "
                                 + "no override: drop it from KUBERNETES_OVERRIDES");
                }
            });
        }
        for (String key : NOT_IN_CONFIGMAPS.keySet()) {
            if (!defaults.containsKey(key)) {
                problems.add("NOT_IN_CONFIGMAPS: " + key + " is no key of application.yaml");
            }
        }

        assertNone(problems);
    }

    /** The kustomize base's ConfigMap (k8s/base/configmap.yaml) and the chart's as rendered, by their file. */
    static Map<String, Map<String, String>> configMaps() {
        Map<String, Map<String, String>> configMaps = new LinkedHashMap<>();
        configMaps.put(KUSTOMIZE_CONFIGMAP, configMapData(Manifests.kustomize(Manifests.KUSTOMIZE_BASE)));
        configMaps.put(HELM_CONFIGMAP, configMapData(Manifests.helmDefault()));
        return configMaps;
    }

    static Map<String, String> configMapData(Manifests manifests) {
        return manifests.get(V1ConfigMap.class, "kvstream-config").getData();
    }

    // ---- Helm values -----------------------------------------------------------------------------------------

    @Test
    void helmConfigAndAuthValuesAreTheDefaults() {
        Map<String, Object> values = Manifests.yamlFile(VALUES);
        List<String> problems = new ArrayList<>();

        for (String section : List.of("config", "auth")) {
            Map<String, Object> entries = Manifests.cast(values.get(section));
            entries.forEach((name, value) -> check(ROOT.relativize(VALUES).toString(), section, name,
                                                   String.valueOf(value), problems));
        }

        assertNone(problems);
    }

    @Test
    void valuesSchemaDefaultsAreTheDefaults() {
        JsonObject schema = JsonParser.parseString(Manifests.read(VALUES_SCHEMA)).getAsJsonObject();
        List<String> problems = new ArrayList<>();

        for (String section : List.of("config", "auth")) {
            JsonObject properties = schema.getAsJsonObject("properties").getAsJsonObject(section)
                    .getAsJsonObject("properties");
            for (var property : properties.entrySet()) {
                JsonElement fallback = property.getValue().getAsJsonObject().get("default");
                if (fallback != null) {
                    check(ROOT.relativize(VALUES_SCHEMA) + " default", section, property.getKey(),
                          fallback.getAsString(), problems);
                }
            }
        }

        assertNone(problems);
    }

    /**
     * One Helm value ({@code config.maxValueBytes}) against the key its env var names
     * ({@code KVSTREAM_MAX_VALUE_BYTES} → {@code kvstream.max-value-bytes}; under {@code auth:}, KVSTREAM_AUTH_...).
     */
    void check(String file, String section, String name, String value, List<String> problems) {
        String path = section + "." + name;
        if (CHART_ONLY_VALUES.contains(path)) {
            return;
        }
        String envVar = "KVSTREAM_" + (section.equals("auth") ? "AUTH_" : "")
                        + name.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
        String key = keysByEnvVar.get(envVar);
        if (key == null) {
            problems.add(file + ": " + path + " maps to no key of application.yaml (looked for " + envVar
                         + "); if it configures the chart only, add it to CHART_ONLY_VALUES");
        } else if (KUBERNETES_OVERRIDES.containsKey(key)) {
            return;
        } else if (!defaults.containsKey(key) && !value.isEmpty()) {
            problems.add(file + ": " + path + " (" + key + ") = " + show(value)
                         + ", but application.yaml has no default for it: leave it empty");
        } else if (defaults.containsKey(key) && !value.equals(defaults.get(key))) {
            problems.add(mismatch(file, path + " (" + key + ")", value, defaults.get(key)));
        }
    }

    // ---- application.yaml ------------------------------------------------------------------------------------

    static Map<String, String> defaults() {
        Map<String, String> defaults = new LinkedHashMap<>();
        Manifests.appDefaults().forEach((key, value) -> defaults.put(key, String.valueOf(value)));
        return defaults;
    }

    static Set<String> documentedKeys(Map<String, String> defaults) {
        Set<String> keys = new TreeSet<>(KEYS_WITHOUT_DEFAULT);
        defaults.keySet().stream().filter(k -> k.equals("server.port") || k.startsWith("kvstream.")).forEach(keys::add);
        return keys;
    }

    static Map<String, String> keysByEnvVar(Map<String, String> defaults) {
        Map<String, String> keys = new LinkedHashMap<>();
        for (String key : documentedKeys(defaults)) {
            String previous = keys.put(envVarName(key), key);
            assertThat("two keys share the env var " + envVarName(key) + ": " + previous + ", " + key,
                       previous == null, is(true));
        }
        defaults.keySet().forEach(key -> keys.putIfAbsent(envVarName(key), key));
        return keys;
    }

    boolean isAppKey(String key) {
        return defaults.containsKey(key) || KEYS_WITHOUT_DEFAULT.contains(key);
    }

    /** Fails with every problem on a line of its own. */
    static void assertNone(List<String> problems) {
        assertThat(String.join("\n", problems), problems.size(), is(0));
    }

    static String mismatch(String file, String key, String value, String expected) {
        return file + ": " + key + " = " + show(value) + ", application.yaml = " + show(expected);
    }

    static String show(String value) {
        return value.isEmpty() ? "\"\"" : value;
    }
}
