//! OTLP over HTTPS: a TLS server on 127.0.0.1 with a certificate issued by a CA made for the
//! test (rcgen) receives the OTLP/HTTP request of a run and decodes its protobuf body
//! (opentelemetry-proto). With the CA given to `OtelConfig::root_certificate_pem` the spans
//! arrive; without it the handshake is refused and nothing arrives.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use agents_core::testing::{function_call_with_id, handoff_call, text, ScriptedModel};
use agents_core::ModelResponse;
use agents_otel::OtelConfig;
use agents_runner::{RunConfig, RunOptions, Runner};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A CA's PEM, and a server configuration with a certificate it issued for 127.0.0.1.
fn certificates() -> (String, ServerConfig) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "agents-otel test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.subject_alt_names = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server TLS config");
    (ca_cert.pem(), config)
}

/// What the server received: (path, body) of each request, and failed handshakes.
#[derive(Default)]
struct Received {
    requests: Mutex<Vec<(String, Vec<u8>)>>,
    handshake_failures: Mutex<usize>,
}

/// Serves HTTP/1.1 over TLS on 127.0.0.1 (just enough of it for the OTLP exporter: requests
/// with a `content-length`, answered `200` with an empty body); returns the port.
async fn serve(config: ServerConfig, received: Arc<Received>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let received = Arc::clone(&received);
            tokio::spawn(async move {
                let mut tls = match acceptor.accept(tcp).await {
                    Ok(tls) => tls,
                    Err(_) => {
                        *received.handshake_failures.lock().unwrap() += 1;
                        return;
                    }
                };
                let mut buf = Vec::new();
                loop {
                    // Headers.
                    let end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse().ok())?
                        })
                        .expect("the exporter sends a content-length");
                    while buf.len() < end + length {
                        let mut chunk = [0u8; 4096];
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = buf[end..end + length].to_vec();
                    buf.drain(..end + length);
                    received.requests.lock().unwrap().push((path, body));
                    let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\n\
                                 content-length: 0\r\n\r\n";
                    if tls.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[derive(Debug)]
struct Provider(Arc<ScriptedModel>);

impl agents_core::ModelProvider for Provider {
    fn get_model(
        &self,
        _name: Option<&str>,
    ) -> Result<Arc<dyn agents_core::Model>, agents_core::ModelError> {
        Ok(self.0.clone())
    }
}

/// Runs Triage (a tool call, then a handoff) and Billing with `otel`'s processor.
async fn run(otel: &agents_otel::OtelPipeline) {
    let model = ScriptedModel::new();
    model.push_response(ModelResponse::new(vec![function_call_with_id(
        "call_1",
        "lookup",
        r#"{"id":7}"#,
    )]));
    model.push_response(ModelResponse::new(vec![handoff_call("Billing")]));
    model.push_response(ModelResponse::new(vec![text("refunded")]));
    let triage = common::triage();
    let config = RunConfig {
        trace_processors: Some(vec![otel.processor()]),
        ..Default::default()
    };
    let options = RunOptions::default()
        .run_config(config)
        .model_provider(Arc::new(Provider(model)));
    let result = Runner::run(&triage, "refund order 7", options)
        .await
        .expect("run");
    assert_eq!(result.final_output_text(), "refunded");
}

fn span_names(received: &Received) -> Vec<String> {
    let mut names = Vec::new();
    for (path, body) in received.requests.lock().unwrap().iter() {
        assert_eq!(path, "/v1/traces");
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
        for rs in &request.resource_spans {
            for ss in &rs.scope_spans {
                names.extend(ss.spans.iter().map(|s| s.name.clone()));
            }
        }
    }
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_https_collector_whose_ca_is_given() {
    let (ca_pem, server_config) = certificates();
    let received = Arc::new(Received::default());
    let port = serve(server_config, Arc::clone(&received)).await;

    let otel = OtelConfig::new()
        .endpoint(format!("https://127.0.0.1:{port}"))
        .root_certificate_pem(ca_pem)
        .metrics(false)
        .build()
        .expect("pipeline");
    run(&otel).await;
    let batch = Arc::clone(otel.batch_processor());
    tokio::task::spawn_blocking(move || otel.shutdown())
        .await
        .expect("shutdown");
    assert_eq!(batch.stats().failed_batches, 0, "{:?}", batch.last_error());
    assert_eq!(
        span_names(&received),
        [
            "chat gpt-test",
            "chat gpt-test",
            "chat gpt-test",
            "execute_tool lookup",
            "handoff Triage -> Billing",
            "invoke_agent Billing",
            "invoke_agent Triage",
        ]
    );
    assert_eq!(*received.handshake_failures.lock().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_is_refused_and_the_run_still_succeeds() {
    let (_, server_config) = certificates();
    let received = Arc::new(Received::default());
    let port = serve(server_config, Arc::clone(&received)).await;

    let otel = OtelConfig::new()
        .endpoint(format!("https://127.0.0.1:{port}"))
        .metrics(false)
        .build()
        .expect("pipeline");
    run(&otel).await;
    let batch = Arc::clone(otel.batch_processor());
    tokio::task::spawn_blocking(move || otel.shutdown())
        .await
        .expect("shutdown");
    assert!(batch.stats().failed_batches >= 1);
    assert!(received.requests.lock().unwrap().is_empty());
    assert!(*received.handshake_failures.lock().unwrap() >= 1);
}

#[test]
fn a_bad_root_certificate_is_a_build_error() {
    let err = OtelConfig::new()
        .endpoint("https://127.0.0.1:4318")
        .root_certificate_file("/nonexistent/ca.pem")
        .build()
        .expect_err("unreadable certificate");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}
