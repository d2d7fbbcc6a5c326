//! The NRI plugin against a runtime of the test's own, speaking NRI's protocol with the same
//! multiplexer and ttrpc: registration, configuration, the subscription, a container asking
//! and one not, reconnection when the runtime goes away, and a runtime speaking an NRI API
//! the plugin does not (it is told in one line, and the plugin tries again).

use std::{collections::HashMap, path::Path, process::Stdio, time::Duration};

use async_trait::async_trait;
use futures::StreamExt;
use hook::nri::{api, mux};
use prost::Message;
use tokio::{net::UnixListener, sync::mpsc};
use ttrpc::{
    asynchronous::{
        transport::{Listener, Socket},
        Client, MethodHandler, Server, Service, TtrpcContext,
    },
    get_status, Code, Request, Response,
};

const BIN: &str = env!("CARGO_BIN_EXE_oci-seccomp-bpf-hook");

/// The runtime's `RegisterPlugin`: tells the test the plugin's name and index.
struct Register(mpsc::UnboundedSender<api::RegisterPluginRequest>);

#[async_trait]
impl MethodHandler for Register {
    async fn handler(&self, _ctx: TtrpcContext, req: Request) -> ttrpc::Result<Response> {
        let register = api::RegisterPluginRequest::decode(req.payload.as_slice()).unwrap();
        let _ = self.0.send(register);
        Ok(Response {
            status: Some(get_status(Code::OK, "")),
            payload: api::Empty {}.encode_to_vec(),
        })
    }
}

/// One accepted plugin: the runtime's service served, the plugin's called.
struct Connected {
    plugin: Client,
    registered: mpsc::UnboundedReceiver<api::RegisterPluginRequest>,
    _server: Server,
    trunk: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn accept(listener: &UnixListener) -> Connected {
    let (stream, _) = tokio::time::timeout(Duration::from_secs(20), listener.accept())
        .await
        .expect("the plugin connects within 20 s")
        .unwrap();
    let split = mux::split(stream);
    let (tx, registered) = mpsc::unbounded_channel();
    let mut methods: HashMap<String, Box<dyn MethodHandler + Send + Sync>> = HashMap::new();
    methods.insert("RegisterPlugin".into(), Box::new(Register(tx)));
    let service = Service {
        methods,
        streams: HashMap::new(),
    };
    let incoming = futures::stream::once(std::future::ready(Ok(split.runtime)))
        .chain(futures::stream::pending());
    let mut server = Server::new()
        .add_listener(Listener::new(incoming))
        .register_service(HashMap::from([(api::RUNTIME_SERVICE.to_owned(), service)]));
    server.start().await.unwrap();
    Connected {
        plugin: Client::new(Socket::new(split.plugin)),
        registered,
        _server: server,
        trunk: split.trunk,
    }
}

/// Calls `service/method` on the plugin.
async fn call<Req: Message, Resp: Message + Default>(
    client: &Client,
    service: &str,
    method: &str,
    req: &Req,
) -> ttrpc::Result<Resp> {
    let response = client
        .request(Request {
            service: service.into(),
            method: method.into(),
            payload: req.encode_to_vec(),
            timeout_nano: 5_000_000_000,
            metadata: Vec::new(),
        })
        .await?;
    Ok(Resp::decode(response.payload.as_slice()).unwrap())
}

fn create(pod: &[(&str, &str)], name: &str) -> api::CreateContainerRequest {
    let annotations = pod.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    api::CreateContainerRequest {
        pod: Some(api::PodSandbox {
            id: "pod".into(),
            name: "web".into(),
            namespace: "default".into(),
            annotations: annotations.collect(),
        }),
        container: Some(api::Container {
            id: format!("id-{name}"),
            name: name.into(),
            ..Default::default()
        }),
    }
}

/// One plugin per node (it holds the node's plugin lock): the tests take turns.
static ONE_PLUGIN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The plugin on `socket`, with `--allowed-output-dir /p`; killed when the test ends.
fn plugin(socket: &Path, log: &Path) -> std::process::Child {
    std::process::Command::new(BIN)
        .args(["--allowed-output-dir", "/p", "--log-level", "info", "nri"])
        .arg("--socket")
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Runs `runtime` as the runtime on a socket the plugin connects to; what the plugin logged.
/// `None` where the test cannot run (root).
fn with_plugin<F: std::future::Future<Output = ()>>(
    runtime: impl FnOnce(std::rc::Rc<UnixListener>) -> F,
) -> Option<String> {
    if !e2e::privileged() {
        return None;
    }
    let _turn = ONE_PLUGIN.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nri.sock");
    let log = dir.path().join("plugin.log");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = std::rc::Rc::new(UnixListener::bind(&socket).unwrap());
        let _plugin = Killed(plugin(&socket, &log));
        runtime(listener).await;
    });
    Some(std::fs::read_to_string(&log).unwrap())
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_plugin_registers_subscribes_adjusts_and_comes_back() {
    let Some(said) = with_plugin(|listener| async move {
        for round in 0..2 {
            let mut runtime = accept(&listener).await;
            let register = runtime.registered.recv().await.unwrap();
            assert_eq!(register.plugin_name, "oci-seccomp-bpf-hook");
            assert_eq!(register.plugin_idx, "10");
            let configure = api::ConfigureRequest {
                runtime_name: "fake".into(),
                runtime_version: format!("round {round}"),
                ..Default::default()
            };
            let answer: api::ConfigureResponse = call(
                &runtime.plugin,
                api::PLUGIN_SERVICE,
                "Configure",
                &configure,
            )
            .await
            .unwrap();
            assert_eq!(
                answer.events,
                1 << 3 | 1 << 4,
                "CreateContainer, PostCreateContainer"
            );
            adjusts_only_who_asks(&runtime.plugin).await;
            told_of_a_dropped_hook(&runtime.plugin).await;
            // The runtime goes away: the plugin must come back to the next one.
            drop(runtime.plugin);
            runtime.trunk.abort();
        }
    }) else {
        return;
    };
    assert!(said.contains("connecting again"), "{said}");
    let dropped: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("without the hook"))
        .collect();
    assert_eq!(dropped.len(), 2, "once a round: {said}");
    assert!(dropped[0].contains("id-app"), "{said}");
}

/// PostCreateContainer of a container that asked but came out without the hook (a validator
/// or another plugin took it out): the plugin says so in its log.
async fn told_of_a_dropped_hook(plugin: &Client) {
    let asked = create(
        &[("io.containers.trace-syscall/app", "of:/p/app.json")],
        "app",
    );
    let event = api::StateChangeEvent {
        event: api::EVENT_POST_CREATE_CONTAINER,
        pod: asked.pod,
        container: asked.container,
    };
    let _: api::Empty = call(plugin, api::PLUGIN_SERVICE, "StateChange", &event)
        .await
        .unwrap();
}

async fn adjusts_only_who_asks(plugin: &Client) {
    let pod = [("io.containers.trace-syscall/app", "of:/p/app.json")];
    let asked: api::CreateContainerResponse = call(
        plugin,
        api::PLUGIN_SERVICE,
        "CreateContainer",
        &create(&pod, "app"),
    )
    .await
    .unwrap();
    let adjust = asked.adjust.expect("app asked");
    assert_eq!(
        adjust.annotations["io.containers.trace-syscall"],
        "of:/p/app.json"
    );
    let hooks = adjust.hooks.unwrap();
    assert_eq!(hooks.prestart[0].path, BIN);
    assert_eq!(
        hooks.prestart[0].args,
        [
            "oci-seccomp-bpf-hook",
            "-s",
            "--timeout",
            "10",
            "--allowed-output-dir",
            "/p"
        ]
    );
    assert_eq!(hooks.poststop, hooks.prestart);
    let side: api::CreateContainerResponse = call(
        plugin,
        api::PLUGIN_SERVICE,
        "CreateContainer",
        &create(&pod, "side"),
    )
    .await
    .unwrap();
    assert_eq!(side.adjust, None, "side did not ask");
    let bad = [("io.containers.trace-syscall/app", "xf:/p/app.json")];
    let refused = call::<_, api::CreateContainerResponse>(
        plugin,
        api::PLUGIN_SERVICE,
        "CreateContainer",
        &create(&bad, "app"),
    )
    .await
    .expect_err("a malformed annotation");
    assert!(
        refused.to_string().contains("starts with none of"),
        "{refused}"
    );
}

/// A runtime whose plugin API is in another package (a future NRI): it calls a service the
/// plugin does not serve, the plugin is never configured and says so in one line.
#[test]
fn a_runtime_speaking_another_nri_api_is_told_apart() {
    let Some(said) = with_plugin(|listener| async move {
        let mut runtime = accept(&listener).await;
        runtime.registered.recv().await.unwrap();
        let future = "nri.pkg.api.v1beta1.Plugin";
        let refused = call::<_, api::ConfigureResponse>(
            &runtime.plugin,
            future,
            "Configure",
            &api::ConfigureRequest::default(),
        )
        .await
        .expect_err("an unknown service");
        assert!(refused.to_string().contains("not"), "{refused}");
        // The plugin gives up on this connection and comes again.
        let _again = accept(&listener).await;
    }) else {
        return;
    };
    let line = said
        .lines()
        .find(|l| l.contains("did not configure the plugin"))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(line.contains("nri.pkg.api.v1alpha1"), "{line}");
}
