package io.kvstream.deploy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import static io.kvstream.deploy.Manifests.ROOT;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * Deployment files checked as files: no real secret is committed, the chart's values schema rejects typos at
 * every level, the Dockerfile follows the image rules, and skaffold.yaml points at what exists.
 */
class RepositoryFilesTest {
    /** What a committed secret value may be: empty, or a placeholder that says so. */
    static final Pattern PLACEHOLDER = Pattern.compile("(change-me.*|)");
    static final Pattern SECRET_LOOKING_KEY = Pattern.compile("(?i).*(password|secret|token|cookie|jwt).*");

    // ---- secrets ---------------------------------------------------------------------------------------------

    @Test
    void committedSecretsHoldPlaceholdersOnly() {
        List<String> secretsFound = new ArrayList<>();
        for (Path file : Manifests.yamlFilesUnder(ROOT.resolve("k8s"))) {
            for (Map<String, Object> doc : Manifests.yamlDocuments(Manifests.read(file))) {
                if (!"Secret".equals(doc.get("kind"))) {
                    continue;
                }
                secretsFound.add(ROOT.relativize(file).toString());
                Map<String, Object> stringData = Manifests.cast(doc.getOrDefault("stringData", Map.of()));
                Map<String, Object> data = Manifests.cast(doc.getOrDefault("data", Map.of()));
                stringData.forEach((key, value) -> assertPlaceholder(file + " stringData." + key, String.valueOf(value)));
                data.forEach((key, value) -> assertPlaceholder(file + " data." + key, new String(
                        Base64.getDecoder().decode(String.valueOf(value)), StandardCharsets.UTF_8)));
            }
        }
        assertThat("the base ships an example Secret", secretsFound, hasItem("k8s/base/secret.yaml"));
    }

    @Test
    void chartDefaultValuesHoldNoSecret() {
        List<String> offending = new ArrayList<>();
        collectSecretValues("", Manifests.yamlFile(Manifests.CHART.resolve("values.yaml")), offending);

        assertThat(offending, is(empty()));
    }

    @Test
    void noEnvFileWithSecretsIsCommittedBesideTheManifests() throws Exception {
        try (var files = Files.walk(ROOT.resolve("k8s"))) {
            assertThat(files.map(Path::getFileName).map(Path::toString).filter(n -> n.endsWith(".env")).toList(), is(empty()));
        }
    }

    // ---- values.schema.json ----------------------------------------------------------------------------------

    @Test
    void valuesSchemaClosesEveryObjectAgainstUnknownKeys() {
        JsonObject schema = JsonParser.parseString(Manifests.read(Manifests.CHART.resolve("values.schema.json")))
                .getAsJsonObject();
        List<String> open = new ArrayList<>();

        collectOpenObjects("#", schema, open);

        assertThat("object schemas without additionalProperties: false", open, is(empty()));
    }

    // ---- Dockerfile ------------------------------------------------------------------------------------------

    @Test
    void dockerfileBuildsInOneStageAndRunsTheJarFromAnotherAsNonRoot() {
        Dockerfile dockerfile = Dockerfile.read(ROOT.resolve("Dockerfile"));
        List<String> finalStage = dockerfile.finalStage();

        assertThat(dockerfile.all("FROM").size(), is(greaterThanOrEqualTo(2)));
        assertThat(dockerfile.all("RUN").stream().anyMatch(run -> run.contains("mvn -B package -DskipTests")), is(true));
        assertThat(finalStage.getFirst(), startsWith("FROM eclipse-temurin:"));
        assertThat(finalStage.getFirst().contains("-jre"), is(true));
        String user = Dockerfile.last(finalStage, "USER").split(":")[0];
        assertThat("numeric non-root USER in the final stage", user.matches("[1-9][0-9]*"), is(true));
        assertThat(finalStage, hasItem("EXPOSE 8080"));
        assertThat(finalStage.stream().anyMatch(line -> line.matches("COPY --from=\\S+ \\S*target/libs/? /app/libs/?")),
                   is(true));
        assertThat(finalStage.stream().anyMatch(line -> line.matches("COPY --from=\\S+ \\S*target/kvstream\\.jar /app/kvstream\\.jar")),
                   is(true));
    }

    @Test
    void dockerfileEntrypointIsExecFormWithContainerJvmFlags() {
        String entrypoint = Dockerfile.last(Dockerfile.read(ROOT.resolve("Dockerfile")).finalStage(), "ENTRYPOINT");
        JsonArray args = JsonParser.parseString(entrypoint).getAsJsonArray();
        List<String> argv = args.asList().stream().map(JsonElement::getAsString).toList();

        assertThat(argv.getFirst(), is("java"));
        assertThat(argv.subList(argv.size() - 2, argv.size()), is(List.of("-jar", "/app/kvstream.jar")));
        assertThat(argv.stream().anyMatch(a -> a.startsWith("-XX:MaxRAMPercentage=")), is(true));
        assertThat("no shell in the entrypoint", argv.stream().noneMatch(a -> a.matches("(/bin/)?(ba)?sh|-c")), is(true));
    }

    /** Both memory flags of a container JVM, and G1: ergonomics would pick Serial on a small container. */
    @Test
    void dockerfileEntrypointPicksG1AndSizesTheHeapFromTheContainerLimit() {
        List<String> argv = entrypoint();

        assertThat(argv, hasItem("-XX:+UseG1GC"));
        assertThat(argv.stream().filter(a -> a.matches("-XX:\\+Use\\w+GC")).toList(), is(List.of("-XX:+UseG1GC")));
        assertThat(argv.stream().anyMatch(a -> a.matches("-XX:MaxRAMPercentage=\\d+(\\.\\d+)?")), is(true));
        assertThat(argv, hasItem("-XX:+ExitOnOutOfMemoryError"));
        assertThat("no fixed heap that ignores the limit", argv.stream().noneMatch(a -> a.startsWith("-Xmx")), is(true));
    }

    /**
     * The build stage resolves dependencies from pom.xml alone before the sources arrive, so a code change
     * reuses that layer and builds offline; the runtime stage copies libs/ before the jar, so a code change
     * re-pushes only the jar's layer.
     */
    @Test
    void dockerfileLayersDependenciesBeforeTheCode() {
        Dockerfile dockerfile = Dockerfile.read(ROOT.resolve("Dockerfile"));
        List<String> build = dockerfile.instructions().subList(0, dockerfile.instructions().indexOf(dockerfile.finalStage().getFirst()));
        List<String> runtime = dockerfile.finalStage();

        int copyPom = build.indexOf("COPY pom.xml .");
        int resolve = build.indexOf("RUN mvn -B package -DskipTests");
        int copySources = build.indexOf("COPY src/main src/main");
        int offlineBuild = build.indexOf("RUN mvn -B --offline package -DskipTests");
        assertThat(build.toString(), List.of(copyPom >= 0, copyPom < resolve, resolve < copySources, copySources < offlineBuild),
                   is(List.of(true, true, true, true)));
        assertThat("no source is copied before the dependency layer",
                   build.subList(0, resolve).stream().filter(i -> i.startsWith("COPY ")).toList(), is(List.of("COPY pom.xml .")));
        int copyLibs = indexOf(runtime, i -> i.startsWith("COPY --from=") && i.contains("target/libs"));
        int copyJar = indexOf(runtime, i -> i.startsWith("COPY --from=") && i.contains("target/kvstream.jar"));
        int firstLabel = indexOf(runtime, i -> i.startsWith("LABEL ") || i.startsWith("ARG "));
        assertThat("libs/ before the jar", copyLibs < copyJar, is(true));
        assertThat("ARG and LABEL after the layers: a new revision changes no layer", copyJar < firstLabel, is(true));
    }

    static int indexOf(List<String> instructions, java.util.function.Predicate<String> which) {
        for (int i = 0; i < instructions.size(); i++) {
            if (which.test(instructions.get(i))) {
                return i;
            }
        }
        throw new AssertionError("no such instruction in " + instructions);
    }

    /** The OCI annotations; what differs per build comes from build ARGs, the fixed ones agree with the pom. */
    @Test
    void dockerfileLabelsTheImageWithOciAnnotations() {
        List<String> finalStage = Dockerfile.read(ROOT.resolve("Dockerfile")).finalStage();
        Map<String, String> labels = new java.util.TreeMap<>();
        for (String label : Dockerfile.args(finalStage, "LABEL")) {
            var pair = Pattern.compile("(\\S+)=\"([^\"]*)\"").matcher(label);
            while (pair.find()) {
                labels.put(pair.group(1), pair.group(2));
            }
        }
        Map<String, String> argDefaults = new java.util.TreeMap<>();
        for (String arg : Dockerfile.args(finalStage, "ARG")) {
            String[] nameAndDefault = arg.split("=", 2);
            argDefaults.put(nameAndDefault[0], nameAndDefault.length == 2 ? nameAndDefault[1] : "");
        }
        String pom = Manifests.read(ROOT.resolve("pom.xml"));

        assertThat(labels.get("org.opencontainers.image.title"), is("kvstream"));
        assertThat(labels.get("org.opencontainers.image.description"), is(pomElement(pom, "description")));
        for (var annotation : Map.of("source", "SOURCE", "licenses", "LICENSES", "version", "VERSION",
                                     "revision", "REVISION", "created", "CREATED").entrySet()) {
            assertThat(annotation.getKey(), labels.get("org.opencontainers.image." + annotation.getKey()),
                       is("${" + annotation.getValue() + "}"));
            assertThat(annotation.getValue() + " is a build ARG of the final stage", argDefaults.containsKey(annotation.getValue()), is(true));
        }
        assertThat("VERSION defaults to the pom's version", argDefaults.get("VERSION"), is(pomElement(pom, "version")));
    }

    /** The project's own element (after the parent block), e.g. version or description. */
    static String pomElement(String pom, String name) {
        var matcher = Pattern.compile("</parent>[\\s\\S]*?<" + name + ">([^<]+)</" + name + ">").matcher(pom);
        assertThat(name + " in pom.xml", matcher.find(), is(true));
        return matcher.group(1);
    }

    static List<String> entrypoint() {
        String entrypoint = Dockerfile.last(Dockerfile.read(ROOT.resolve("Dockerfile")).finalStage(), "ENTRYPOINT");
        return JsonParser.parseString(entrypoint).getAsJsonArray().asList().stream().map(JsonElement::getAsString).toList();
    }

    @Test
    void dockerfileUsesPinnedBaseImagesAndNoRemoteAdd() {
        Dockerfile dockerfile = Dockerfile.read(ROOT.resolve("Dockerfile"));

        for (String from : dockerfile.all("FROM")) {
            String image = from.split("\\s+")[0];
            assertThat(from + " has a tag", image.contains(":"), is(true));
            assertThat(from + " is not :latest", image.endsWith(":latest"), is(false));
        }
        for (String add : dockerfile.all("ADD")) {
            assertThat("ADD " + add, add.matches(".*(https?|ftp)://.*"), is(false));
        }
    }

    @Test
    void dockerignoreKeepsTheBuildContextToWhatTheBuildNeeds() {
        List<String> lines = Manifests.read(ROOT.resolve(".dockerignore")).lines()
                .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();

        assertThat(lines.getFirst(), is("*"));
        assertThat(lines, hasItem("!pom.xml"));
        assertThat(lines, hasItem("!src/main/"));
    }

    // ---- skaffold.yaml ---------------------------------------------------------------------------------------

    @Test
    void skaffoldBuildsTheKvstreamImageFromTheDockerfile() {
        Map<String, Object> skaffold = Manifests.yamlFile(ROOT.resolve("skaffold.yaml"));
        Map<String, Object> artifact = Manifests.<List<Map<String, Object>>>cast(
                Manifests.<Map<String, Object>>cast(skaffold.get("build")).get("artifacts")).getFirst();
        Path context = ROOT.resolve((String) artifact.get("context"));
        String dockerfile = (String) Manifests.<Map<String, Object>>cast(artifact.get("docker")).get("dockerfile");

        assertThat((String) skaffold.get("apiVersion"), startsWith("skaffold/v4beta"));
        assertThat(artifact.get("image"), is("kvstream"));
        assertThat(Files.isDirectory(context), is(true));
        assertThat(Files.isRegularFile(context.resolve(dockerfile)), is(true));
    }

    /**
     * {@code skaffold dev} is the inner loop: it deploys the small dev overlay; the chart ({@code -p helm}) and the full
     * base ({@code -p kustomize-base}) have profiles of their own, which nothing activates on its own.
     */
    @Test
    void skaffoldDeploysTheDevOverlayByDefaultTheChartWithHelmAndTheBaseWithKustomizeBase() {
        Map<String, Object> skaffold = Manifests.yamlFile(ROOT.resolve("skaffold.yaml"));
        Map<String, Object> helm = Manifests.cast(Manifests.<Map<String, Object>>cast(profile(skaffold, "helm").get("deploy")).get("helm"));
        Map<String, Object> release = Manifests.<List<Map<String, Object>>>cast(helm.get("releases")).getFirst();

        assertThat(kustomizePaths(skaffold), is(List.of("k8s/overlays/dev")));
        assertThat(Manifests.<Map<String, Object>>cast(skaffold.get("deploy")).keySet(), is(Set.of("kubectl")));
        assertThat(kustomizePaths(profile(skaffold, "kustomize-base")), is(List.of("k8s/base")));
        for (String path : List.of("k8s/overlays/dev", "k8s/base")) {
            assertThat(path, Files.isRegularFile(ROOT.resolve(path).resolve("kustomization.yaml")), is(true));
        }
        assertThat(Files.isRegularFile(ROOT.resolve((String) release.get("chartPath")).resolve("Chart.yaml")), is(true));
        assertThat(Manifests.<Map<String, Object>>cast(release.get("setValueTemplates")),
                   is(Map.of("image.repository", "{{.IMAGE_REPO_kvstream}}",
                             "image.tag", "{{.IMAGE_TAG_kvstream}}@{{.IMAGE_DIGEST_kvstream}}")));
        // The chart's profile takes the kustomize manifests and the kubectl deployer away, so only Helm deploys.
        assertThat(profile(skaffold, "helm").get("patches"), is(List.of(Map.of("op", "remove", "path", "/manifests"),
                                                                        Map.of("op", "remove", "path", "/deploy/kubectl"))));
        for (String name : List.of("helm", "kustomize-base")) {
            assertThat(name + " activation", profile(skaffold, name).get("activation"), is((Object) null));
        }
    }

    static Map<String, Object> profile(Map<String, Object> skaffold, String name) {
        return Manifests.<List<Map<String, Object>>>cast(skaffold.get("profiles")).stream()
                .filter(p -> name.equals(p.get("name"))).findFirst().orElseThrow();
    }

    /** The kustomize paths of a skaffold config or profile. */
    static List<String> kustomizePaths(Map<String, Object> config) {
        return Manifests.cast(Manifests.<Map<String, Object>>cast(
                Manifests.<Map<String, Object>>cast(config.get("manifests")).get("kustomize")).get("paths"));
    }

    @Test
    void chartAndKustomizeBaseUseTheImageSkaffoldBuilds() {
        Map<String, Object> values = Manifests.yamlFile(Manifests.CHART.resolve("values.yaml"));
        String chartImage = (String) Manifests.<Map<String, Object>>cast(values.get("image")).get("repository");

        assertThat(chartImage, is("kvstream"));
        for (Manifests manifests : List.of(Manifests.helmDefault(), Manifests.kustomize(Manifests.KUSTOMIZE_BASE))) {
            for (var workload : manifests.appWorkloads()) {
                assertThat(workload.name(), workload.container().getImage().split(":")[0], is("kvstream"));
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    static void assertPlaceholder(String where, String value) {
        assertThat(where + " must be a placeholder (change-me...), never a real secret",
                   PLACEHOLDER.matcher(value).matches(), is(true));
    }

    static void collectSecretValues(String path, Map<String, Object> node, List<String> offending) {
        node.forEach((key, value) -> {
            String at = path.isEmpty() ? key : path + "." + key;
            if (value instanceof Map<?, ?> child) {
                collectSecretValues(at, Manifests.cast(child), offending);
            } else if (value instanceof String text && SECRET_LOOKING_KEY.matcher(key).matches() && !key.matches("(?i).*(existingSecret|Key)$")
                       && !PLACEHOLDER.matcher(text).matches()) {
                offending.add(at + "=" + value);
            }
        });
    }

    /** JSON pointers of object schemas with properties that do not forbid additional properties. */
    static void collectOpenObjects(String pointer, JsonElement node, List<String> open) {
        if (node.isJsonArray()) {
            for (int i = 0; i < node.getAsJsonArray().size(); i++) {
                collectOpenObjects(pointer + "/" + i, node.getAsJsonArray().get(i), open);
            }
            return;
        }
        if (!node.isJsonObject()) {
            return;
        }
        JsonObject object = node.getAsJsonObject();
        if (object.has("properties")) {
            JsonElement additional = object.get("additionalProperties");
            if (additional == null || !additional.isJsonPrimitive() || additional.getAsBoolean()) {
                open.add(pointer);
            }
        }
        for (var entry : object.entrySet()) {
            collectOpenObjects(pointer + "/" + entry.getKey(), entry.getValue(), open);
        }
    }

    /** A Dockerfile as instructions (continuation lines joined, comments dropped), e.g. "FROM eclipse-temurin:21-jre". */
    record Dockerfile(List<String> instructions) {
        static Dockerfile read(Path file) {
            List<String> instructions = new ArrayList<>();
            StringBuilder current = new StringBuilder();
            for (String raw : Manifests.read(file).lines().toList()) {
                String line = raw.strip();
                if (line.startsWith("#") || (line.isEmpty() && current.isEmpty())) {
                    continue;
                }
                boolean continues = line.endsWith("\\");
                current.append(continues ? line.substring(0, line.length() - 1).strip() + " " : line);
                if (!continues) {
                    instructions.add(current.toString().strip());
                    current.setLength(0);
                }
            }
            return new Dockerfile(instructions);
        }

        /** Arguments of every instruction of this kind, in order. */
        List<String> all(String keyword) {
            return args(instructions, keyword);
        }

        /** Instructions from the last FROM on. */
        List<String> finalStage() {
            int lastFrom = 0;
            for (int i = 0; i < instructions.size(); i++) {
                if (instructions.get(i).startsWith("FROM ")) {
                    lastFrom = i;
                }
            }
            return instructions.subList(lastFrom, instructions.size());
        }

        static List<String> args(List<String> instructions, String keyword) {
            return instructions.stream().filter(i -> i.startsWith(keyword + " "))
                    .map(i -> i.substring(keyword.length() + 1).strip()).toList();
        }

        static String last(List<String> instructions, String keyword) {
            List<String> found = args(instructions, keyword);
            assertThat(keyword + " present", found, is(org.hamcrest.Matchers.not(empty())));
            return found.getLast();
        }
    }
}
