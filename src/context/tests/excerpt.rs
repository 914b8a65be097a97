//! `excerpt` on realistic logs: what survives a small budget.

use crate::context::excerpt::{excerpt, is_error_line};

fn spring_boot_log() -> String {
    let mut lines: Vec<String> = Vec::new();
    lines.push("  .   ____          _            __ _ _".into());
    for i in 0..60 {
        lines.push(format!(
            "2024-05-01 11:58:{:02}.123  INFO 1 --- [main] o.s.b.w.e.tomcat.TomcatWebServer : initialising bean catalogRepository{i}",
            i % 60
        ));
    }
    lines.push("2024-05-01 11:59:01.002  WARN 1 --- [main] c.e.cache.WarmUp : heap usage above 90%, GC overhead rising".into());
    lines.push("2024-05-01 11:59:02.310 ERROR 1 --- [main] o.s.boot.SpringApplication : Application run failed".into());
    lines.push("java.lang.IllegalStateException: Failed to execute CommandLineRunner".into());
    for i in 0..25 {
        lines.push(format!(
            "\tat org.springframework.boot.SpringApplication.callRunner(SpringApplication.java:{})",
            770 + i
        ));
    }
    lines.push("Caused by: java.lang.OutOfMemoryError: Java heap space".into());
    lines.push("\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)".into());
    lines.push("\tat com.example.cache.WarmUp.load(WarmUp.java:88)".into());
    lines.push("\t... 12 more".into());
    lines.push("2024-05-01 11:59:02.400  INFO 1 --- [main] o.s.s.concurrent.ThreadPoolTaskExecutor : Shutting down ExecutorService".into());
    lines.join("\n") + "\n"
}

fn go_panic_log() -> String {
    let mut lines: Vec<String> = (0..80)
        .map(|i| format!("level=info ts=2024-05-01T11:59:{:02}Z msg=\"served request\" path=/cart/{i} status=200", i % 60))
        .collect();
    lines.extend(
        [
            "panic: runtime error: invalid memory address or nil pointer dereference",
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6b4f2a]",
            "",
            "goroutine 42 [running]:",
            "github.com/acme/cart/internal/store.(*Store).Get(0x0, {0xc000123, 0x5})",
            "\t/src/internal/store/store.go:57 +0x2a",
            "github.com/acme/cart/internal/http.(*Handler).ServeHTTP(0xc0001a2000, {0x9c5e2b, 0xc0002}, 0xc000300)",
            "\t/src/internal/http/handler.go:112 +0x1c5",
            "net/http.serverHandler.ServeHTTP({0xc000112000}, {0x9c5e2b, 0xc0002}, 0xc000300)",
            "\t/usr/local/go/src/net/http/server.go:2938 +0x8e",
            "created by net/http.(*Server).Serve in goroutine 1",
            "\t/usr/local/go/src/net/http/server.go:3089 +0x5cb",
        ]
        .map(String::from),
    );
    lines.join("\n")
}

fn python_log() -> String {
    let mut lines: Vec<String> = (0..50)
        .map(|i| format!("INFO:uvicorn.access:10.0.0.{i}:5123 - \"GET /health HTTP/1.1\" 200"))
        .collect();
    lines.extend(
        [
            "Traceback (most recent call last):",
            "  File \"/app/db.py\", line 12, in connect",
            "    return psycopg2.connect(DSN)",
            "psycopg2.OperationalError: could not connect to server: Connection refused",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            "  File \"/app/main.py\", line 42, in <module>",
            "    app = create_app()",
            "  File \"/app/main.py\", line 30, in create_app",
            "    db = connect()",
            "RuntimeError: database unavailable after 5 attempts",
        ]
        .map(String::from),
    );
    lines.join("\n")
}

fn node_log() -> String {
    let mut lines: Vec<String> = (0..40)
        .map(|i| format!("{{\"level\":30,\"time\":17145{i:05},\"msg\":\"request completed\",\"res\":{{\"statusCode\":200}}}}"))
        .collect();
    lines.extend(
        [
            "/app/src/orders.js:88",
            "    const total = order.items.reduce((s, i) => s + i.price, 0);",
            "                              ^",
            "",
            "TypeError: Cannot read properties of undefined (reading 'reduce')",
            "    at computeTotal (/app/src/orders.js:88:31)",
            "    at /app/src/routes.js:21:19",
            "    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)",
            "",
            "Node.js v20.11.1",
        ]
        .map(String::from),
    );
    lines.join("\n")
}

/// Every line of the excerpt is a line of the log (in order) or a skip marker.
fn assert_subsequence(log: &str, out: &str) {
    let mut source = log.lines().map(|l| l.trim_end());
    for line in out.lines() {
        if line.starts_with("… (") && line.ends_with("skipped)") {
            continue;
        }
        assert!(
            source.any(|l| l == line || l.starts_with(line.trim_end_matches('…'))),
            "{line:?} is not from the log, in order"
        );
    }
}

#[test]
fn a_short_log_comes_back_whole() {
    let log = "listening on :8080\nconnected to db\n\n";
    assert_eq!(excerpt(log, 1000), "listening on :8080\nconnected to db");
    assert_eq!(excerpt("", 100), "");
    assert_eq!(excerpt("x", 0), "");
}

#[test]
fn java_trace_keeps_the_error_the_cause_and_the_last_lines() {
    let log = spring_boot_log();
    let out = excerpt(&log, 1500);
    assert!(out.chars().count() <= 1500, "{}", out.chars().count());
    assert_subsequence(&log, &out);
    for want in [
        "Application run failed",
        "java.lang.IllegalStateException: Failed to execute CommandLineRunner",
        "Caused by: java.lang.OutOfMemoryError: Java heap space",
        "Shutting down ExecutorService",
        "heap usage above 90%",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    assert!(out.contains("lines skipped)"), "{out}");
    // The banner and the bean chatter are what goes.
    assert!(!out.contains("catalogRepository3\n"), "{out}");
}

#[test]
fn go_panic_keeps_the_goroutine_trace() {
    let log = go_panic_log();
    let out = excerpt(&log, 1200);
    assert!(out.chars().count() <= 1200);
    assert_subsequence(&log, &out);
    for want in [
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "[signal SIGSEGV",
        "goroutine 42 [running]:",
        "store.(*Store).Get",
        "\t/src/internal/store/store.go:57 +0x2a",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    assert!(out.starts_with("… ("), "older requests are skipped: {out}");
}

#[test]
fn python_chained_traceback_is_kept_whole() {
    let log = python_log();
    let out = excerpt(&log, 1100);
    assert_subsequence(&log, &out);
    for want in [
        "psycopg2.OperationalError: could not connect to server: Connection refused",
        "During handling of the above exception, another exception occurred:",
        "  File \"/app/main.py\", line 42, in <module>",
        "RuntimeError: database unavailable after 5 attempts",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn node_type_error_keeps_frames_and_the_source_line() {
    let log = node_log();
    let out = excerpt(&log, 900);
    assert!(out.chars().count() <= 900);
    for want in [
        "TypeError: Cannot read properties of undefined (reading 'reduce')",
        "    at computeTotal (/app/src/orders.js:88:31)",
        "Node.js v20.11.1",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn an_old_error_survives_among_many_lines_with_its_neighbours() {
    let mut lines: Vec<String> = (0..300).map(|i| format!("processed batch {i}")).collect();
    lines[100] = "opening connection to postgres:5432".into();
    lines[101] = "ERROR: password authentication failed for user \"app\"".into();
    lines[102] = "retrying in 5s".into();
    let log = lines.join("\n");
    let out = excerpt(&log, 400);
    assert!(out.chars().count() <= 400);
    let kept: Vec<&str> = out.lines().collect();
    let at = kept
        .iter()
        .position(|l| l.contains("password authentication failed"))
        .expect("the error line");
    assert_eq!(kept[at - 1], "opening connection to postgres:5432");
    assert_eq!(kept[at + 1], "retrying in 5s");
    assert_eq!(kept.last(), Some(&"processed batch 299"));
    assert_eq!(kept[0], "… (100 lines skipped)");
}

#[test]
fn a_repeated_error_does_not_crowd_out_a_different_one() {
    let mut lines = vec!["starting worker".to_string()];
    lines.push("ERROR config key payments.url is empty, using default".into());
    for i in 0..200 {
        lines.push(format!(
            "2024-05-01T11:{:02}:00Z ERROR dial tcp 10.0.0.7:6379: connect: connection refused (attempt {i})",
            i % 60
        ));
        lines.push(format!("request {i} served from cache"));
    }
    lines.push("2024-05-01T12:00:00Z FATAL giving up on redis".into());
    let log = lines.join("\n");
    let out = excerpt(&log, 700);
    assert!(out.chars().count() <= 700);
    assert!(out.contains("FATAL giving up on redis"), "{out}");
    assert!(out.contains("(attempt 199)"), "the newest repeat: {out}");
    assert!(
        out.contains("payments.url is empty"),
        "the other error: {out}"
    );
}

#[test]
fn colours_are_stripped_and_long_lines_cut() {
    let log = format!("\u{1b}[31mERROR\u{1b}[0m boom\n{}\nend", "x".repeat(5000));
    let out = excerpt(&log, 10_000);
    assert!(out.starts_with("ERROR boom\n"), "{out}");
    let long = out.lines().nth(1).unwrap();
    assert_eq!(long.chars().count(), 400);
    assert!(long.ends_with('…'));
}

#[test]
fn every_budget_is_respected_and_the_result_is_stable() {
    for log in [spring_boot_log(), go_panic_log(), python_log(), node_log()] {
        for budget in (0..3000).step_by(37) {
            let out = excerpt(&log, budget);
            assert!(out.chars().count() <= budget, "budget {budget}: {out}");
            assert_eq!(out, excerpt(&log, budget), "deterministic");
            assert_subsequence(&log, &out);
        }
    }
    // Too small for even the last line: its start.
    assert_eq!(excerpt("first\nthe very last line", 8), "the ver…");
}

#[test]
fn error_lines_are_recognised_without_false_friends() {
    for line in [
        "ERROR something",
        "level=error msg=x",
        "java.lang.NullPointerException",
        "MemoryError",
        "fatal error: runtime: out of memory",
        "E0501 12:00:00.000000 1 reflector.go:138] failed to list",
        "Container killed: OOMKilled",
        "thread 'main' panicked at src/main.rs:4:5",
    ] {
        assert!(is_error_line(line), "{line}");
    }
    for line in [
        "served 200 in 3ms",
        "room 12 booked",
        "Everything is fine",
        "terrorism report",
    ] {
        assert!(!is_error_line(line), "{line}");
    }
}
