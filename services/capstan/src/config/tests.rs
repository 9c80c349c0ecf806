use super::*;

fn kubeconfig(server: &str, namespace: Option<&str>) -> Kubeconfig {
    let mut config = Kubeconfig::empty();
    point_at(&mut config, server, namespace.map(str::to_string));
    config
}

#[test]
fn flags_beat_env_beats_file_beats_default() {
    let file = kubeconfig("http://file:1", Some("team"));
    let path = Path::new("/home/u/.capstan/config");
    let inputs = |flag, env| Inputs { flag_server: flag, env_server: env, ..Inputs::default() };
    let cases = [
        (Some("http://flag:1"), Some("http://env:1"), Some(&file), "http://flag:1"),
        (None, Some("http://env:1"), Some(&file), "http://env:1"),
        (None, Some(""), Some(&file), "http://file:1"),
        (None, None, Some(&file), "http://file:1"),
        (None, None, None, DEFAULT_SERVER),
    ];
    for (flag, env, file, want) in cases {
        let settings = Settings::resolve(inputs(flag, env), file.map(|f| (path, f))).expect("resolves");
        assert_eq!(settings.server, want, "{flag:?} {env:?}");
    }
    let s = Settings::resolve(Inputs::default(), Some((path, &file))).expect("resolves");
    assert_eq!((s.namespace.as_str(), s.namespace_given), ("team", false));
    let s = Settings::resolve(Inputs { flag_namespace: Some("prod"), ..Inputs::default() }, Some((path, &file)))
        .expect("resolves");
    assert_eq!((s.namespace.as_str(), s.namespace_given), ("prod", true));
    assert_eq!(Settings::resolve(Inputs::default(), None).expect("resolves").namespace, "default");
    let empty = Kubeconfig::empty();
    assert_eq!(Settings::resolve(Inputs::default(), Some((path, &empty))).expect("no context").server, DEFAULT_SERVER);
    let err = Settings::resolve(Inputs { flag_context: Some("nope"), ..Inputs::default() }, Some((path, &file)))
        .expect_err("unknown context")
        .to_string();
    assert!(err.contains("context \"nope\" is not defined") && err.contains("/home/u/.capstan/config"), "{err}");
}

#[test]
fn the_kubeconfig_path_is_the_flag_then_kubeconfig_then_home() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exists = dir.path().join("b");
    std::fs::write(&exists, "").expect("write");
    let home = Some(Path::new("/home/u"));
    let list = std::env::join_paths([dir.path().join("a"), exists.clone()]).expect("join");
    /// flag, $KUBECONFIG, home, the path chosen
    type Case<'a> = (Option<&'a Path>, Option<&'a OsStr>, Option<&'a Path>, Option<PathBuf>);
    let cases: [Case<'_>; 5] = [
        (Some(Path::new("/f")), Some(OsStr::new("/e")), home, Some("/f".into())),
        (None, Some(OsStr::new("/e")), home, Some("/e".into())),
        (None, Some(list.as_os_str()), home, Some(exists.clone())),
        (None, Some(OsStr::new("")), home, Some("/home/u/.capstan/config".into())),
        (None, None, None, None),
    ];
    for (flag, env, home, want) in cases {
        assert_eq!(kubeconfig_path(flag, env, home), want, "{flag:?} {env:?}");
    }
}

#[test]
fn the_old_format_is_read_and_saved_as_a_kubeconfig() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub").join("config");
    assert_eq!(load(&path).expect("missing is fine"), None);
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(&path, "server: http://127.0.0.1:7000\nnamespace: shop\n").expect("write");
    let config = load(&path).expect("load").expect("some");
    let s = Settings::resolve(Inputs::default(), Some((&path, &config))).expect("resolves");
    assert_eq!((s.server.as_str(), s.namespace.as_str()), ("http://127.0.0.1:7000", "shop"));
    save(&path, &config).expect("save");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("kind: Config") && text.contains("current-context: capstan-local"), "{text}");
    assert_eq!(load(&path).expect("reload"), Some(config));
    std::fs::write(&path, "servr: x\n").expect("write");
    let err = load(&path).expect_err("neither format").to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
}

#[test]
fn pointing_at_a_cluster_keeps_other_contexts_and_the_namespace() {
    let mut config = kubeconfig("http://old:1", Some("team"));
    config.contexts.push(NamedContext { name: "other".into(), ..NamedContext::default() });
    point_at(&mut config, "http://new:2", None);
    assert_eq!(config.contexts.len(), 2);
    assert_eq!(config.cluster(LOCAL).map(|c| c.server.as_str()), Some("http://new:2"));
    assert_eq!(config.context(LOCAL).and_then(|c| c.namespace.as_deref()), Some("team"));
}
