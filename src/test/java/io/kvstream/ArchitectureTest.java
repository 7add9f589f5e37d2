package io.kvstream;

import java.util.List;
import java.util.stream.Stream;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The layering of STYLE.md, checked on the compiled classes: every import points down, from the process's entry point
 * through the role assemblers and the transports to the protocols, the configuration and the domain model at the
 * bottom; one package owns each protocol; no package cycles.
 */
class ArchitectureTest {
    private static final JavaClasses KVSTREAM = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.kvstream");

    @Test
    void everyImportPointsDownTheLayers() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("Main").definedBy("io.kvstream")
                .layer("Roles").definedBy("io.kvstream.role..")
                .layer("Transports").definedBy("io.kvstream.api..", "io.kvstream.ws..", "io.kvstream.page..")
                .layer("Http").definedBy("io.kvstream.http..")
                .layer("Auth").definedBy("io.kvstream.auth..")
                .layer("Stages").definedBy("io.kvstream.command..", "io.kvstream.worker..", "io.kvstream.replica..")
                .layer("Events").definedBy("io.kvstream.event..")
                .layer("Protocols").definedBy("io.kvstream.wire..", "io.kvstream.storage..")
                .layer("Embedded").definedBy("io.kvstream.embedded..")
                .layer("Config").definedBy("io.kvstream.config..")
                .layer("Domain").definedBy("io.kvstream.domain..")
                .whereLayer("Main").mayNotBeAccessedByAnyLayer()
                .whereLayer("Roles").mayOnlyBeAccessedByLayers("Main")
                .whereLayer("Transports").mayOnlyBeAccessedByLayers("Roles")
                .whereLayer("Http").mayOnlyBeAccessedByLayers("Roles", "Transports")
                .whereLayer("Auth").mayOnlyBeAccessedByLayers("Roles", "Transports")
                .whereLayer("Stages").mayOnlyBeAccessedByLayers("Roles", "Transports")
                .whereLayer("Events").mayOnlyBeAccessedByLayers("Roles", "Transports", "Stages")
                .whereLayer("Protocols").mayOnlyBeAccessedByLayers("Roles", "Transports", "Http", "Stages", "Events")
                .whereLayer("Embedded").mayOnlyBeAccessedByLayers("Main")
                .whereLayer("Config").mayOnlyBeAccessedByLayers("Main", "Roles", "Transports", "Http", "Auth", "Stages",
                                                                "Events", "Protocols", "Embedded")
                .whereLayer("Domain").mayOnlyBeAccessedByLayers("Roles", "Transports", "Auth", "Stages", "Events",
                                                                "Protocols")
                .check(KVSTREAM);
    }

    /** The transports share what they answer alike through {@code http}, never through one another. */
    @Test
    void transportsDoNotReachIntoOneAnother() {
        for (String transport : List.of("api", "ws", "page")) {
            noClasses().that().resideInAPackage("io.kvstream." + transport + "..")
                    .should().dependOnClassesThat()
                    .resideInAnyPackage(Stream.of("api", "ws", "page").filter(other -> !other.equals(transport))
                                                .map(other -> "io.kvstream." + other + "..").toArray(String[]::new))
                    .check(KVSTREAM);
        }
    }

    @Test
    void stagesAndProtocolsDoNotReachSideways() {
        noClasses().that().resideInAnyPackage("io.kvstream.command..", "io.kvstream.worker..")
                .should().dependOnClassesThat().resideInAnyPackage("io.kvstream.replica..", "io.kvstream.event..")
                .check(KVSTREAM);
        noClasses().that().resideInAPackage("io.kvstream.command..")
                .should().dependOnClassesThat().resideInAPackage("io.kvstream.worker..")
                .check(KVSTREAM);
        noClasses().that().resideInAPackage("io.kvstream.worker..")
                .should().dependOnClassesThat().resideInAPackage("io.kvstream.command..")
                .check(KVSTREAM);
        noClasses().that().resideInAPackage("io.kvstream.wire..")
                .should().dependOnClassesThat().resideInAPackage("io.kvstream.storage..")
                .check(KVSTREAM);
        noClasses().that().resideInAPackage("io.kvstream.storage..")
                .should().dependOnClassesThat().resideInAPackage("io.kvstream.wire..")
                .check(KVSTREAM);
    }

    @Test
    void packagesHaveNoCycles() {
        slices().matching("io.kvstream.(**)").should().beFreeOfCycles().check(KVSTREAM);
    }

    @Test
    void theDomainModelImportsNothingOfOurs() {
        classes().that().resideInAPackage("io.kvstream.domain..")
                .should().onlyDependOnClassesThat()
                .resideInAnyPackage("io.kvstream.domain..", "java..", "com.fasterxml.jackson.annotation..")
                .check(KVSTREAM);
    }

    @Test
    void onlyWireSpeaksAmqp() {
        noClasses().that().resideOutsideOfPackage("io.kvstream.wire..")
                .should().dependOnClassesThat().resideInAPackage("com.rabbitmq..")
                .check(KVSTREAM);
    }

    @Test
    void onlyStorageSpeaksSql() {
        noClasses().that().resideOutsideOfPackage("io.kvstream.storage..")
                .should().dependOnClassesThat()
                .resideInAnyPackage("java.sql..", "javax.sql..", "org.postgresql..", "io.helidon.dbclient..",
                                    "com.zaxxer.hikari..", "org.flywaydb..")
                .check(KVSTREAM);
    }
}
