//! `taizhang check`: exit 0 on a consistent report, 1 with findings (the seed's real slips),
//! 2 on a file that cannot be read; JSON names kind, offsets, stated and computed values.

use serde_json::Value;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .arg("check")
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_codes_and_the_seed_slips() {
    let dir = tempfile::tempdir().expect("dir");
    let ok = dir.path().join("ok.txt");
    std::fs::write(&ok, "学生共526名,其中双语班学生402名,占学生总数的76%。").expect("write");
    let (code, out, _) = run(&[ok.to_str().expect("path")]);
    assert_eq!(code, Some(0), "{out}");

    // The seed reports: the 增幅 of 篇·重点项目 (14.05 ÷ 16.45 = 85.41 %, stated 85.15 %), 篇五's
    // 生均 areas (4208 ÷ 1313 = 3.20, stated 3.14; 6880 ÷ 1313 = 5.24, stated 5.13), its
    // truncated 每班平均 (46.9 as 46.8), the truncated 6 % (2 ÷ 29 = 6.9 %) and 篇七's "100%
    // 维吾尔族" against "100% 哈萨克族" are found; nothing else is flagged.
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/seeds/000_9f41f260c02e1daa.txt"
    );
    let (code, out, err) = run(&[seed, "--json"]);
    assert_eq!(code, Some(1), "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    let f = v[0]["findings"].as_array().expect("findings");
    assert_eq!(f.len(), 6, "{f:?}");
    assert_eq!(
        (f[0]["kind"].as_str(), f[0]["severity"].as_str()),
        (Some("growth"), Some("error"))
    );
    assert_eq!(f[0]["stated"].as_f64(), Some(85.15));
    assert!((f[0]["computed"].as_f64().expect("computed") - 85.41).abs() < 0.01);
    assert!(
        f[0]["quote"]
            .as_str()
            .expect("quote")
            .contains("增幅为85.15%")
    );
    let text = std::fs::read_to_string(seed).expect("seed");
    let (a, b) = (
        f[0]["start"].as_u64().expect("start") as usize,
        f[0]["end"].as_u64().expect("end") as usize,
    );
    let quoted: String = text.chars().skip(a).take(b - a).collect();
    assert_eq!(
        quoted,
        f[0]["quote"].as_str().expect("quote"),
        "offsets are characters"
    );
    let kinds: Vec<(&str, &str, f64)> = f
        .iter()
        .map(|x| {
            (
                x["kind"].as_str().unwrap_or_default(),
                x["severity"].as_str().unwrap_or_default(),
                x["stated"].as_f64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds[1..],
        [
            ("ratio", "minor", 46.8),
            ("ratio", "error", 3.14),
            ("ratio", "error", 5.13),
            ("percent", "minor", 6.0),
            ("contradiction", "error", 100.0)
        ]
    );

    // Unreadable input: exit 2 with the reason.
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").expect("write");
    let (code, _, err) = run(&[empty.to_str().expect("path")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("文件为空"), "{err}");
    let binary = dir.path().join("b.bin");
    std::fs::write(&binary, b"\x00\x01\x02abc").expect("write");
    let (code, _, err) = run(&[binary.to_str().expect("path")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("二进制"), "{err}");
    let fake = dir.path().join("fake.docx");
    std::fs::write(&fake, b"PK\x03\x04not really").expect("write");
    let (code, _, err) = run(&[fake.to_str().expect("path")]);
    assert_eq!(code, Some(2));
    assert!(err.contains(".docx"), "{err}");
}
