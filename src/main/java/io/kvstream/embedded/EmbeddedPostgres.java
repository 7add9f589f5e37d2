package io.kvstream.embedded;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A real PostgreSQL server from the zonky binaries, for the all-in-one local mode. Data survives restarts.
 * <p>
 * As root, zonky runs initdb/postgres through {@code unshare -U} (PostgreSQL refuses to run as root), so
 * nothing special is needed here.
 */
public final class EmbeddedPostgres implements AutoCloseable {

    private static final String USER = "postgres";
    /** zonky's own per-data-directory lock file; held by whichever JVM runs the server. */
    private static final String ZONKY_LOCK = "epg-lock";
    private static final Duration PROCESS_WAIT = Duration.ofSeconds(10);

    private final io.zonky.test.db.postgres.embedded.EmbeddedPostgres server;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedPostgres(io.zonky.test.db.postgres.embedded.EmbeddedPostgres server) {
        this.server = server;
    }

    /** Starts (or restarts on existing data) PostgreSQL with its data in {@code dataDir}, on 127.0.0.1. */
    public static EmbeddedPostgres start(Path dataDir, int port) throws IOException {
        QuietLogging.warningUnlessConfigured("io.zonky.test.db.postgres");
        Path dir = dataDir.toAbsolutePath().normalize();
        Files.createDirectories(dir.getParent());
        stopOrphanedPostmaster(dir);
        // initdb insists on an empty directory, so the server log lives next to it rather than inside.
        Path log = dir.resolveSibling(dir.getFileName() + ".log");
        io.zonky.test.db.postgres.embedded.EmbeddedPostgres server;
        try {
            server = io.zonky.test.db.postgres.embedded.EmbeddedPostgres.builder()
                    .setDataDirectory(dir)
                    .setCleanDataDirectory(false)
                    .setPort(FreePort.orPick(port))
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    // TCP only: no socket file in a shared /tmp, no path-length limit on deep data dirs
                    .setServerConfig("unix_socket_directories", "")
                    // zonky turns both off for speed in tests; here an acknowledged commit must survive a crash
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("fsync", "on")
                    .setOutputRedirector(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException | RuntimeException e) {
            throw new IOException("PostgreSQL did not start in " + dir + " (see " + log + ")", e);
        }
        // zonky only checks that something answers on the port, which may be another server
        if (!startedOk(server.getProcess())) {
            server.close();
            throw new IOException("pg_ctl could not start PostgreSQL in " + dir + " (see " + log + ")");
        }
        return new EmbeddedPostgres(server);
    }

    private static boolean startedOk(Process pgCtl) {
        try {
            return pgCtl.waitFor(PROCESS_WAIT.toMillis(), TimeUnit.MILLISECONDS) && pgCtl.exitValue() == 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + server.getPort() + "/postgres";
    }

    public String username() {
        return USER;
    }

    /** Empty: initdb ran with trust authentication and the server only listens on loopback. */
    public String password() {
        return "";
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                server.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * pg_ctl daemonizes the postmaster, so a JVM killed with SIGKILL leaves it running on the data directory
     * and the next start would fail on postmaster.pid. When no live JVM holds zonky's lock, a postmaster
     * still running on this directory is such an orphan: stop it (SIGTERM = smart shutdown, its clients
     * died with the JVM). A pid file of a dead process is left to PostgreSQL, which ignores stale ones.
     */
    private static void stopOrphanedPostmaster(Path dir) throws IOException {
        Path pidFile = dir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        try (FileOutputStream lockStream = new FileOutputStream(dir.resolve(ZONKY_LOCK).toFile());
             FileLock lock = lockStream.getChannel().tryLock()) {
            if (lock == null) {
                return; // another process runs this server; zonky will report it
            }
            List<String> lines = Files.readAllLines(pidFile);
            if (lines.isEmpty() || !lines.getFirst().strip().matches("\\d+")) {
                return;
            }
            ProcessHandle.of(Long.parseLong(lines.getFirst().strip()))
                    .filter(ProcessHandle::isAlive)
                    .filter(p -> p.info().command().map(c -> c.endsWith("/postgres")).orElse(false))
                    .ifPresent(EmbeddedPostgres::stop);
        } catch (OverlappingFileLockException e) {
            // this JVM already runs a server on this directory; zonky will report it
        }
    }

    private static void stop(ProcessHandle postmaster) {
        List<ProcessHandle> children = postmaster.descendants().toList();
        postmaster.destroy();
        try {
            postmaster.onExit().get(PROCESS_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // backends still attached to the old shared memory would block the new postmaster
            postmaster.destroyForcibly();
            children.forEach(ProcessHandle::destroyForcibly);
            postmaster.onExit().join();
            children.forEach(child -> child.onExit().join());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
