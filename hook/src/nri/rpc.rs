//! ttrpc over the multiplexer: the plugin's service answered by a [`Handler`], and the one
//! call the plugin makes on the runtime's, `RegisterPlugin`. Messages are ours ([`api`]),
//! encoded with prost; the ttrpc crate frames, numbers and matches them.

use std::{collections::HashMap, future::ready, sync::Arc};

use async_trait::async_trait;
use futures::StreamExt;
use prost::Message;
use tokio::sync::Notify;
use ttrpc::{
    asynchronous::{
        transport::{Listener, Socket},
        Client, MethodHandler, Server, Service, TtrpcContext,
    },
    get_status, Code, Request, Response,
};

use super::api::{self, ConfigureRequest, ConfigureResponse, CreateContainerRequest};

/// What the plugin answers; a refusal's text reaches the runtime's log (and, for a container,
/// the error its creation fails with).
pub trait Handler: Send + Sync + 'static {
    fn configure(&self, req: ConfigureRequest) -> Result<ConfigureResponse, String>;
    fn create_container(
        &self,
        req: CreateContainerRequest,
    ) -> Result<api::CreateContainerResponse, String>;
    /// An event told after the fact (PostCreateContainer).
    fn state_change(&self, event: api::StateChangeEvent);
}

/// One method: the request's payload decoded, answered, the answer encoded.
struct Method<F>(F);

#[async_trait]
impl<F> MethodHandler for Method<F>
where
    F: Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync,
{
    async fn handler(&self, _ctx: TtrpcContext, req: Request) -> ttrpc::Result<Response> {
        let (status, payload) = match (self.0)(&req.payload) {
            Ok(payload) => (get_status(Code::OK, ""), payload),
            Err(why) => (get_status(Code::UNKNOWN, why), Vec::new()),
        };
        Ok(Response {
            status: Some(status),
            payload,
        })
    }
}

/// A method answering `Req` with `Resp` through `answer`.
fn method<Req, Resp>(
    answer: impl Fn(Req) -> Result<Resp, String> + Send + Sync + 'static,
) -> Box<dyn MethodHandler + Send + Sync>
where
    Req: Message + Default,
    Resp: Message,
{
    Box::new(Method(move |payload: &[u8]| {
        let req = Req::decode(payload).map_err(|e| format!("undecodable request: {e}"))?;
        answer(req).map(|resp| resp.encode_to_vec())
    }))
}

/// The plugin's service: what it subscribes to, and what every runtime calls. `configured`
/// is told when the runtime has configured the plugin.
fn plugin_service(handler: Arc<dyn Handler>, configured: Arc<Notify>) -> HashMap<String, Service> {
    let mut methods: HashMap<String, Box<dyn MethodHandler + Send + Sync>> = HashMap::new();
    let h = handler.clone();
    methods.insert(
        "Configure".into(),
        method(move |req: ConfigureRequest| {
            let answer = h.configure(req);
            configured.notify_one();
            answer
        }),
    );
    methods.insert(
        "Synchronize".into(),
        method(|req: api::SynchronizeRequest| Ok(api::SynchronizeResponse { more: req.more })),
    );
    methods.insert("Shutdown".into(), method(|_: api::Empty| Ok(api::Empty {})));
    let h = handler.clone();
    methods.insert(
        "StateChange".into(),
        method(move |event: api::StateChangeEvent| {
            h.state_change(event);
            Ok(api::Empty {})
        }),
    );
    methods.insert(
        "CreateContainer".into(),
        method(move |req: CreateContainerRequest| handler.create_container(req)),
    );
    let service = Service {
        methods,
        streams: HashMap::new(),
    };
    HashMap::from([(api::PLUGIN_SERVICE.to_owned(), service)])
}

/// Serves the plugin's service on `conn` until [`Server::shutdown`].
pub async fn serve(
    conn: tokio::io::DuplexStream,
    handler: Arc<dyn Handler>,
    configured: Arc<Notify>,
) -> ttrpc::Result<Server> {
    // One connection, then none: a listener that never ends, so the server keeps serving it.
    let incoming = futures::stream::once(ready(Ok(conn))).chain(futures::stream::pending());
    let mut server = Server::new()
        .add_listener(Listener::new(incoming))
        .register_service(plugin_service(handler, configured));
    server.start().await?;
    Ok(server)
}

/// `RegisterPlugin` on the runtime's service over `conn`; the client stays usable.
pub async fn register(
    conn: tokio::io::DuplexStream,
    name: &str,
    index: &str,
    timeout: std::time::Duration,
) -> ttrpc::Result<Client> {
    let client = Client::new(Socket::new(conn));
    let req = api::RegisterPluginRequest {
        plugin_name: name.to_owned(),
        plugin_idx: index.to_owned(),
    };
    client
        .request(Request {
            service: api::RUNTIME_SERVICE.to_owned(),
            method: "RegisterPlugin".to_owned(),
            payload: req.encode_to_vec(),
            timeout_nano: timeout.as_nanos() as i64,
            metadata: Vec::new(),
        })
        .await?;
    Ok(client)
}
