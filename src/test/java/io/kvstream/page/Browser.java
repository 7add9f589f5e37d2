package io.kvstream.page;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.logging.Level;

import io.kvstream.testing.Tools;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;


/** A real headless Chromium (Debian's chromium + chromium-driver) with a fresh profile. */
final class Browser implements AutoCloseable {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    final ChromeDriver driver;
    private final Path profile;

    private Browser(ChromeDriver driver, Path profile) {
        this.driver = driver;
        this.profile = profile;
    }

    /** Skips the calling test when Chromium is not installed, or fails it under CI (Tools.require). */
    static void assumeInstalled() {
        Tools.require(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                      "/usr/bin/chromium and /usr/bin/chromedriver (apt-get install -y chromium chromium-driver)");
    }

    static Browser start() {
        assumeInstalled();
        try {
            Path profile = Files.createTempDirectory("kvstream-chromium");
            ChromeOptions options = new ChromeOptions();
            options.setBinary(CHROMIUM.toFile());
            options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                                 "--disable-sync", "--user-data-dir=" + profile, "--window-size=1280,900",
                                 "--force-device-scale-factor=1");
            LoggingPreferences logs = new LoggingPreferences();
            logs.enable(LogType.BROWSER, Level.ALL);
            options.setCapability("goog:loggingPrefs", logs);
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(CHROMEDRIVER.toFile())
                    .usingAnyFreePort()
                    .build();
            return new Browser(new ChromeDriver(service, options), profile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String text(String css) {
        return driver.findElement(By.cssSelector(css)).getText();
    }

    List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    /**
     * The value cell of a key's row, or null when the table has no such row. Found in one script run, in the page:
     * the page replaces rows as events arrive, so a row found by one driver call may be gone by the next.
     */
    WebElement valueCell(String key) {
        return (WebElement) ((JavascriptExecutor) driver).executeScript(
                "const row = [...document.querySelectorAll('#values tbody tr')].find(tr => tr.dataset.key === arguments[0]);"
                + " return row ? row.querySelector('td.value') : null;", key);
    }

    /** Texts of the event log entries, newest first. */
    List<String> logEntries() {
        return all("#log li").stream().map(WebElement::getText).toList();
    }

    List<LogEntry> consoleErrors() {
        return driver.manage().logs().get(LogType.BROWSER).getAll().stream()
                .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
                .toList();
    }

    @Override
    public void close() {
        driver.quit();
        try (var files = Files.walk(profile)) {
            files.sorted(java.util.Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException | UncheckedIOException e) {
            // a temp dir; the OS cleans it up eventually
        }
    }
}
