package io.kvstream.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1Ingress;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1Job;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1PodTemplateSpec;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V2HorizontalPodAutoscaler;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesObject;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The deployment descriptors of this repository, rendered and parsed strictly against the Kubernetes API models,
 * plus the lookups the deploy tests share. Sources: the Helm chart (rendered in-process with helm-java), the
 * kustomize base and overlays (built here: {@code resources} and strategic-merge {@code patches}, the only
 * kustomize features this repository uses), and the app's own configuration keys.
 */
final class Manifests {
    static final Path ROOT = projectRoot();
    static final Path CHART = ROOT.resolve("helm/kvstream");
    static final Path KUSTOMIZE_BASE = ROOT.resolve("k8s/base");
    static final Path KUSTOMIZE_DEV = ROOT.resolve("k8s/overlays/dev");
    /** Release name used for every render: the chart then names its objects exactly like the kustomize base. */
    static final String RELEASE = "kvstream";
    /** Kubernetes version the chart is rendered for (Chart.yaml needs 1.30+ for the preStop sleep action). */
    static final String KUBE_VERSION = "1.31.0";
    /** Components that run the kvstream image; the others (postgresql, rabbitmq) are bundled servers. */
    static final Set<String> APP_COMPONENTS = Set.of("api", "worker", "websocket");
    static final String COMPONENT = "app.kubernetes.io/component";

    /** Kubernetes model class of every (apiVersion, kind) the repository may contain; anything else is an error. */
    private static final Map<String, Class<? extends KubernetesObject>> MODELS = Map.of(
            "v1/ConfigMap", V1ConfigMap.class,
            "v1/Secret", V1Secret.class,
            "v1/Service", V1Service.class,
            "apps/v1/Deployment", V1Deployment.class,
            "apps/v1/StatefulSet", V1StatefulSet.class,
            "autoscaling/v2/HorizontalPodAutoscaler", V2HorizontalPodAutoscaler.class,
            "policy/v1/PodDisruptionBudget", V1PodDisruptionBudget.class,
            "networking.k8s.io/v1/Ingress", V1Ingress.class,
            "networking.k8s.io/v1/NetworkPolicy", V1NetworkPolicy.class,
            "batch/v1/Job", V1Job.class);

    /** The Gateway API's route, which Kubernetes' models lack: checked against a schema of its own instead. */
    static final String HTTP_ROUTE = "gateway.networking.k8s.io/v1/HTTPRoute";
    private static final Schema HTTP_ROUTE_SCHEMA = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
            .getSchema(read(ROOT.resolve("src/test/resources/io/kvstream/deploy/httproute-v1.schema.json")), InputFormat.JSON);

    private static final Map<String, Manifests> CACHE = new ConcurrentHashMap<>();
    private static final Gson GSON = new Gson();

    private final String source;
    private final List<KubernetesObject> objects;

    private Manifests(String source, List<KubernetesObject> objects) {
        this.source = source;
        this.objects = List.copyOf(objects);
    }

    // ---- sources ----------------------------------------------------------------------------------------

    /** The chart rendered with its default values. */
    static Manifests helmDefault() {
        return helm(Map.of());
    }

    /** The chart rendered with {@code --set} style values (cached per value set). */
    static Manifests helm(Map<String, Object> values) {
        return CACHE.computeIfAbsent("helm " + new TreeMap<>(values),
                                     key -> parse("helm template " + values, helmTemplate(values)));
    }

    /** {@code helm template} output of the chart; throws with helm's message if rendering fails. */
    static String helmTemplate(Map<String, Object> values) {
        return template(CHART, values);
    }

    /** What {@link #helmHooks} renames the {@code helm.sh/hook*} annotations to. */
    static final String HOOK_ANNOTATION = "rendered-hook.kvstream.test/";

    /**
     * The chart's hooks, which Helm's template action through helm-java leaves out (and a client-only install dry-run
     * prints no manifest). Renders a copy of the chart whose {@code helm.sh/hook*} annotation keys are renamed to
     * {@value #HOOK_ANNOTATION}{@code hook*}, so the hooks come out as plain objects, and keeps only those (cached per
     * value set).
     */
    static Manifests helmHooks(Map<String, Object> values) {
        return CACHE.computeIfAbsent("hooks " + new TreeMap<>(values), key -> {
            Path copy = chartCopy((file, text) -> text.replace("helm.sh/hook", HOOK_ANNOTATION + "hook"));
            Manifests all = parse("helm template (hooks) " + values, template(copy, values));
            List<KubernetesObject> hooks = all.all().stream()
                    .filter(o -> o.getMetadata().getAnnotations() != null
                                 && o.getMetadata().getAnnotations().containsKey(HOOK_ANNOTATION + "hook"))
                    .toList();
            return new Manifests("helm template (hooks) " + values, hooks);
        });
    }

    /** The chart rendered with its default values after {@code edit} rewrote one of its files (e.g. Chart.yaml). */
    static Manifests helmWithChartFile(String file, UnaryOperator<String> edit) {
        Path copy = chartCopy((name, text) -> name.equals(file) ? edit.apply(text) : text);
        return parse("helm template (" + file + " edited)", template(copy, Map.of()));
    }

    /** A copy of the chart in a new temporary directory, each file's text passed through {@code edit(path, text)}. */
    private static Path chartCopy(BinaryOperator<String> edit) {
        try {
            Path copy = Files.createTempDirectory("kvstream-chart").resolve("kvstream");
            try (var files = Files.walk(CHART)) {
                for (Path file : files.toList()) {
                    String name = CHART.relativize(file).toString();
                    Path target = copy.resolve(name);
                    if (Files.isDirectory(file)) {
                        Files.createDirectories(target);
                    } else {
                        Files.writeString(target, edit.apply(name, Files.readString(file)));
                    }
                }
            }
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code helm template} of {@code chart} with {@code values}, secretLookup off: helm-java's template is not
     * client-only for lookup (it dials a cluster and fails, where {@code helm template} finds nothing). HelmChartTest
     * renders the lookup path with an install dry-run.
     */
    private static String template(Path chart, Map<String, Object> values) {
        TemplateCommand template = new Helm(chart).template().withName(RELEASE).withNamespace("kvstream")
                .withKubeVersion(KUBE_VERSION).set("secretLookup", false);
        values.forEach(template::set);
        return template.call();
    }

    /** A kustomization directory, built as {@code kubectl kustomize} would (for the features this repo uses). */
    static Manifests kustomize(Path dir) {
        return CACHE.computeIfAbsent("kustomize " + dir, key -> {
            List<Map<String, Object>> documents = Kustomize.build(dir);
            List<KubernetesObject> parsed = new ArrayList<>();
            for (Map<String, Object> document : documents) {
                parsed.add(parseStrict(document, "kustomize " + ROOT.relativize(dir)));
            }
            return new Manifests("kustomize " + ROOT.relativize(dir), parsed);
        });
    }

    static Manifests parse(String source, String multiDocumentYaml) {
        List<KubernetesObject> parsed = new ArrayList<>();
        for (Map<String, Object> document : yamlDocuments(multiDocumentYaml)) {
            parsed.add(parseStrict(document, source));
        }
        return new Manifests(source, parsed);
    }

    // ---- strict parsing ---------------------------------------------------------------------------------

    /**
     * Parses one object against the Kubernetes API model of its kind: a field the schema does not know
     * ({@code replicass}), a missing required field or a value of the wrong JSON type is an error, as it would
     * be for {@code kubectl apply --validate=strict}.
     */
    static KubernetesObject parseStrict(Map<String, Object> document, String source) {
        String apiVersion = String.valueOf(document.get("apiVersion"));
        String kind = String.valueOf(document.get("kind"));
        if (HTTP_ROUTE.equals(apiVersion + "/" + kind)) {
            return parseHttpRoute(document, source);
        }
        Class<? extends KubernetesObject> model = MODELS.get(apiVersion + "/" + kind);
        if (model == null) {
            throw new IllegalArgumentException(source + ": unexpected kind " + apiVersion + "/" + kind
                                               + "; known: " + new TreeSet<>(MODELS.keySet()));
        }
        JsonElement json = GSON.toJsonTree(document);
        try {
            model.getMethod("validateJsonElement", JsonElement.class).invoke(null, json);
        } catch (InvocationTargetException e) {
            throw new IllegalArgumentException(source + ": " + kind + " " + name(document) + " does not match the "
                                               + "Kubernetes schema: " + e.getCause().getMessage(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        KubernetesObject typed = JSON.getGson().fromJson(json, model);
        String mismatch = typeMismatch(kind, json, JSON.getGson().toJsonTree(typed));
        if (mismatch != null) {
            throw new IllegalArgumentException(source + ": " + kind + " " + name(document) + " does not match the "
                                               + "Kubernetes schema: " + mismatch);
        }
        return typed;
    }

    /** An HTTPRoute, valid against httproute-v1.schema.json, as a dynamic object (read it with {@link #httpRoutes}). */
    private static KubernetesObject parseHttpRoute(Map<String, Object> document, String source) {
        String json = GSON.toJson(document);
        List<Error> errors = HTTP_ROUTE_SCHEMA.validate(json, InputFormat.JSON);
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(source + ": HTTPRoute " + name(document) + " does not match the "
                                               + "Gateway API schema: " + errors);
        }
        return new DynamicKubernetesObject(GSON.fromJson(json, com.google.gson.JsonObject.class));
    }

    /** The HTTPRoutes, as the YAML maps they were rendered as. */
    List<Map<String, Object>> httpRoutes() {
        return objects.stream().filter(DynamicKubernetesObject.class::isInstance)
                .map(o -> ((DynamicKubernetesObject) o).getRaw())
                .filter(raw -> HTTP_ROUTE.equals(raw.get("apiVersion").getAsString() + "/" + raw.get("kind").getAsString()))
                .map(raw -> Manifests.<Map<String, Object>>cast(GSON.fromJson(raw, Map.class)))
                .toList();
    }

    /**
     * The model classes coerce silently where the API server refuses ({@code image: 7} becomes "7",
     * {@code replicas: "2"} becomes 2): compare the JSON types of the original with the model's own
     * serialization and name the first field whose type changed. Quantities may be written as numbers.
     */
    private static String typeMismatch(String path, JsonElement original, JsonElement reparsed) {
        if (original == null || original.isJsonNull()) {
            return null;
        }
        if (reparsed == null || reparsed.isJsonNull()) {
            return path + " was dropped by the model";
        }
        if (original.isJsonObject()) {
            if (!reparsed.isJsonObject()) {
                return path + " must not be an object";
            }
            for (var entry : original.getAsJsonObject().entrySet()) {
                String mismatch = typeMismatch(path + "." + entry.getKey(), entry.getValue(),
                                               reparsed.getAsJsonObject().get(entry.getKey()));
                if (mismatch != null) {
                    return mismatch;
                }
            }
            return null;
        }
        if (original.isJsonArray()) {
            if (!reparsed.isJsonArray() || reparsed.getAsJsonArray().size() != original.getAsJsonArray().size()) {
                return path + " must not be a list";
            }
            for (int i = 0; i < original.getAsJsonArray().size(); i++) {
                String mismatch = typeMismatch(path + "[" + i + "]", original.getAsJsonArray().get(i),
                                               reparsed.getAsJsonArray().get(i));
                if (mismatch != null) {
                    return mismatch;
                }
            }
            return null;
        }
        if (!reparsed.isJsonPrimitive()) {
            return path + " must be an object or a list, not " + original;
        }
        var a = original.getAsJsonPrimitive();
        var b = reparsed.getAsJsonPrimitive();
        boolean quantity = path.matches(".*\\.(requests|limits|capacity)\\.[^.]+|.*\\.sizeLimit");
        if (a.isNumber() && b.isString() && quantity) {
            return null;
        }
        if (a.isNumber() != b.isNumber() || a.isString() != b.isString() || a.isBoolean() != b.isBoolean()) {
            return path + " has the wrong type: " + original + " (the schema wants " + (b.isString() ? "a string"
                    : b.isNumber() ? "a number" : "a boolean") + ")";
        }
        return null;
    }

    static List<Map<String, Object>> yamlDocuments(String text) {
        List<Map<String, Object>> documents = new ArrayList<>();
        for (Object document : yaml().loadAll(text)) {
            if (document == null) {
                continue;
            }
            if (!(document instanceof Map<?, ?> map)) {
                throw new IllegalArgumentException("not a YAML mapping: " + document);
            }
            documents.add(cast(map));
        }
        return documents;
    }

    static Map<String, Object> yamlFile(Path file) {
        List<Map<String, Object>> documents = yamlDocuments(read(file));
        if (documents.size() != 1) {
            throw new IllegalArgumentException(file + ": expected one YAML document, found " + documents.size());
        }
        return documents.getFirst();
    }

    // ---- queries ----------------------------------------------------------------------------------------

    String source() {
        return source;
    }

    List<KubernetesObject> all() {
        return objects;
    }

    <T extends KubernetesObject> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    <T extends KubernetesObject> Optional<T> find(Class<T> type, String name) {
        return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst();
    }

    <T extends KubernetesObject> T get(Class<T> type, String name) {
        return find(type, name).orElseThrow(() -> new AssertionError(
                source + ": no " + type.getSimpleName() + " named " + name));
    }

    /** Deployments and StatefulSets. */
    List<Workload> workloads() {
        List<Workload> workloads = new ArrayList<>();
        for (V1Deployment d : all(V1Deployment.class)) {
            workloads.add(new Workload("Deployment", d.getMetadata().getName(), d.getSpec().getSelector(),
                                       d.getSpec().getReplicas(), d.getSpec().getTemplate()));
        }
        for (V1StatefulSet s : all(V1StatefulSet.class)) {
            workloads.add(new Workload("StatefulSet", s.getMetadata().getName(), s.getSpec().getSelector(),
                                       s.getSpec().getReplicas(), s.getSpec().getTemplate()));
        }
        return workloads;
    }

    /** Workloads that run the kvstream image (api, worker, websocket). */
    List<Workload> appWorkloads() {
        return workloads().stream().filter(w -> APP_COMPONENTS.contains(w.component())).toList();
    }

    Workload workload(String component) {
        return workloads().stream().filter(w -> component.equals(w.component())).findFirst()
                .orElseThrow(() -> new AssertionError(source + ": no workload of component " + component));
    }

    /** Workloads whose pods carry every label of {@code selector}. */
    List<Workload> selectedBy(Map<String, String> selector) {
        return workloads().stream().filter(w -> w.podLabels().entrySet().containsAll(selector.entrySet())).toList();
    }

    /** Env var names a container gets: its {@code env} plus the keys of the ConfigMaps/Secrets in {@code envFrom}. */
    Set<String> envNames(V1Container container) {
        Set<String> names = new TreeSet<>();
        if (container.getEnv() != null) {
            container.getEnv().forEach(e -> names.add(e.getName()));
        }
        if (container.getEnvFrom() != null) {
            container.getEnvFrom().forEach(source -> {
                if (source.getConfigMapRef() != null) {
                    names.addAll(get(V1ConfigMap.class, source.getConfigMapRef().getName()).getData().keySet());
                }
                if (source.getSecretRef() != null) {
                    names.addAll(secretKeys(get(V1Secret.class, source.getSecretRef().getName())));
                }
            });
        }
        return names;
    }

    /** The value of a plain env var, or of a ConfigMap key loaded with envFrom. */
    Optional<String> envValue(V1Container container, String name) {
        if (container.getEnv() != null) {
            for (var env : container.getEnv()) {
                if (env.getName().equals(name) && env.getValueFrom() == null) {
                    return Optional.ofNullable(env.getValue());
                }
            }
        }
        if (container.getEnvFrom() != null) {
            for (var source : container.getEnvFrom()) {
                if (source.getConfigMapRef() != null) {
                    Map<String, String> data = get(V1ConfigMap.class, source.getConfigMapRef().getName()).getData();
                    if (data.containsKey(name)) {
                        return Optional.of(data.get(name));
                    }
                }
            }
        }
        return Optional.empty();
    }

    static Set<String> secretKeys(V1Secret secret) {
        Set<String> keys = new TreeSet<>();
        if (secret.getData() != null) {
            keys.addAll(secret.getData().keySet());
        }
        if (secret.getStringData() != null) {
            keys.addAll(secret.getStringData().keySet());
        }
        return keys;
    }

    /** A Deployment or StatefulSet, reduced to what the cross-checks compare. */
    record Workload(String kind, String name, V1LabelSelector selector, Integer replicas, V1PodTemplateSpec template) {
        Map<String, String> podLabels() {
            return Objects.requireNonNullElse(template.getMetadata().getLabels(), Map.of());
        }

        String component() {
            return podLabels().get(COMPONENT);
        }

        List<V1Container> containers() {
            return template.getSpec().getContainers();
        }

        V1Container container() {
            if (containers().size() != 1) {
                throw new AssertionError(kind + " " + name + " has " + containers().size() + " containers");
            }
            return containers().getFirst();
        }
    }

    // ---- the app's configuration keys -------------------------------------------------------------------

    static final Path APPLICATION_YAML = ROOT.resolve("src/main/resources/application.yaml");

    /**
     * Keys the app reads that have no default: they are only commented in application.yaml because they come
     * from the environment or a Secret.
     */
    static final Set<String> KEYS_WITHOUT_DEFAULT = Set.of("kvstream.db.url", "kvstream.db.username",
                                                           "kvstream.db.password", "kvstream.amqp.uri",
                                                           "kvstream.auth.jwt-secret");

    /**
     * Every leaf key of src/main/resources/application.yaml with its default, in file order
     * ({@code kvstream.max-value-bytes} → 1048576), as SnakeYAML reads it (Integer, Boolean, String).
     */
    static Map<String, Object> appDefaults() {
        Map<String, Object> defaults = new LinkedHashMap<>();
        flatten("", yamlFile(APPLICATION_YAML), defaults);
        return defaults;
    }

    /**
     * Environment variable names the app reads: every key of application.yaml in env form
     * ({@code kvstream.max-value-bytes} → {@code KVSTREAM_MAX_VALUE_BYTES}), plus {@link #KEYS_WITHOUT_DEFAULT}.
     */
    static Set<String> appEnvVarNames() {
        Set<String> names = new TreeSet<>();
        appDefaults().keySet().forEach(key -> names.add(envVarName(key)));
        KEYS_WITHOUT_DEFAULT.forEach(key -> names.add(envVarName(key)));
        return names;
    }

    static String envVarName(String configKey) {
        return configKey.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    private static void flatten(String prefix, Map<String, Object> node, Map<String, Object> leaves) {
        node.forEach((key, value) -> {
            String path = prefix.isEmpty() ? key : prefix + "." + key;
            if (value instanceof Map<?, ?> child) {
                flatten(path, cast(child), leaves);
            } else {
                leaves.put(path, value);
            }
        });
    }

    // ---- files ------------------------------------------------------------------------------------------

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Path> yamlFilesUnder(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Yaml yaml() {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        return new Yaml(new SafeConstructor(options));
    }

    static String name(Map<String, Object> document) {
        Object metadata = document.get("metadata");
        return metadata instanceof Map<?, ?> m ? String.valueOf(m.get("name")) : "<unnamed>";
    }

    @SuppressWarnings("unchecked")
    static <T> T cast(Object value) {
        return (T) value;
    }

    private static Path projectRoot() {
        Path dir = Paths.get("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("pom.xml"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("no pom.xml above " + Paths.get("").toAbsolutePath());
        }
        return dir;
    }

    /**
     * The part of kustomize this repository uses: {@code resources} (files and directories) and
     * {@code patches} with strategic-merge patch files. Any other kustomization field is rejected rather than
     * silently ignored, so the tests never check something other than what {@code kubectl apply -k} applies.
     */
    static final class Kustomize {
        private static final Set<String> SUPPORTED_FIELDS = Set.of("apiVersion", "kind", "resources", "patches");
        /** patchMergeKey of the Kubernetes list fields that a strategic merge patch merges instead of replacing. */
        private static final Map<String, String> MERGE_KEYS = Map.of(
                "containers", "name",
                "initContainers", "name",
                "env", "name",
                "volumes", "name",
                "volumeMounts", "mountPath",
                "imagePullSecrets", "name");

        private Kustomize() {
        }

        static List<Map<String, Object>> build(Path dir) {
            Path file = dir.resolve("kustomization.yaml");
            Map<String, Object> kustomization = yamlFile(file);
            Set<String> unsupported = new TreeSet<>(kustomization.keySet());
            unsupported.removeAll(SUPPORTED_FIELDS);
            if (!unsupported.isEmpty()) {
                throw new IllegalArgumentException(file + ": fields " + unsupported + " are not supported by the "
                                                   + "test's kustomize builder (supported: " + SUPPORTED_FIELDS + ")");
            }
            List<Map<String, Object>> objects = new ArrayList<>();
            for (String resource : Manifests.<List<String>>cast(kustomization.getOrDefault("resources", List.of()))) {
                Path path = dir.resolve(resource).normalize();
                if (Files.isDirectory(path)) {
                    objects.addAll(build(path));
                } else {
                    objects.addAll(yamlDocuments(read(path)));
                }
            }
            Set<String> ids = new LinkedHashSet<>();
            for (Map<String, Object> object : objects) {
                if (!ids.add(id(object))) {
                    throw new IllegalArgumentException(dir + ": duplicate object " + id(object));
                }
            }
            for (Map<String, Object> patchEntry : Manifests.<List<Map<String, Object>>>cast(
                    kustomization.getOrDefault("patches", List.of()))) {
                if (!patchEntry.keySet().equals(Set.of("path"))) {
                    throw new IllegalArgumentException(file + ": only `patches: - path: <file>` is supported, not "
                                                       + patchEntry.keySet());
                }
                for (Map<String, Object> patch : yamlDocuments(read(dir.resolve((String) patchEntry.get("path"))))) {
                    Map<String, Object> target = objects.stream().filter(o -> id(o).equals(id(patch))).findFirst()
                            .orElseThrow(() -> new IllegalArgumentException(
                                    dir + ": patch " + patchEntry.get("path") + " targets missing object " + id(patch)));
                    objects.set(objects.indexOf(target), cast(merge(target, patch, "")));
                }
            }
            return objects;
        }

        private static String id(Map<String, Object> object) {
            return object.get("apiVersion") + "/" + object.get("kind") + "/" + name(object);
        }

        /** Strategic merge: maps merge key by key (null deletes), keyed lists merge by key, other values replace. */
        private static Object merge(Object base, Object patch, String field) {
            if (base instanceof Map<?, ?> baseMap && patch instanceof Map<?, ?> patchMap) {
                Map<String, Object> result = new LinkedHashMap<>(cast(baseMap));
                Manifests.<Map<String, Object>>cast(patchMap).forEach((key, value) -> {
                    if (key.startsWith("$")) {
                        throw new IllegalArgumentException("patch directive " + key + " is not supported");
                    }
                    if (value == null) {
                        result.remove(key);
                    } else {
                        result.put(key, merge(result.get(key), value, key));
                    }
                });
                return result;
            }
            String mergeKey = mergeKey(field, patch);
            if (base instanceof List<?> baseList && patch instanceof List<?> patchList && mergeKey != null) {
                List<Object> result = new ArrayList<>(baseList);
                for (Object item : patchList) {
                    Object key = ((Map<?, ?>) item).get(mergeKey);
                    int index = -1;
                    for (int i = 0; i < result.size(); i++) {
                        if (Objects.equals(((Map<?, ?>) result.get(i)).get(mergeKey), key)) {
                            index = i;
                        }
                    }
                    if (index < 0) {
                        result.add(item);
                    } else {
                        result.set(index, merge(result.get(index), item, ""));
                    }
                }
                return result;
            }
            return patch;
        }

        private static String mergeKey(String field, Object patch) {
            if (field.equals("ports") && patch instanceof List<?> list && !list.isEmpty()
                && list.getFirst() instanceof Map<?, ?> first) {
                return first.containsKey("containerPort") ? "containerPort" : "port";
            }
            return MERGE_KEYS.get(field);
        }
    }
}
