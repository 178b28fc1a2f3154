//! The exporter and the OTLP pipeline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use agents_core::trace::{
    BatchConfig, BatchTraceProcessor, TraceExporter, TraceProcessor, TraceRecord,
};
use opentelemetry::metrics::MeterProvider;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SpanExporter;
use opentelemetry_sdk::Resource;

use crate::convert::{add_trace_attrs, to_otel, GenAiMetrics, TraceInfo};

/// Why the pipeline could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// The OTLP exporter could not be built (bad endpoint, say).
    #[error("cannot build the OTLP {what} exporter: {message}")]
    Build {
        /// `span` or `metric`.
        what: &'static str,
        /// The exporter's message.
        message: String,
    },
    /// The protocol is not compiled in, or unknown.
    #[error("OTLP protocol `{0}` is not available (features: `http` for http/protobuf, `grpc` for grpc)")]
    Protocol(String),
    /// The runtime for gRPC export could not start.
    #[error("cannot start the gRPC export runtime: {0}")]
    Runtime(String),
    /// HTTPS could not be set up: a root certificate that cannot be read or
    /// parsed, or an `https://` endpoint without the `tls` feature.
    #[error("OTLP over TLS: {0}")]
    Tls(String),
}

/// The OTLP transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// HTTP with protobuf bodies (`http/protobuf`, port 4318; feature `http`).
    #[default]
    HttpProtobuf,
    /// gRPC (`grpc`, port 4317; feature `grpc`).
    Grpc,
}

/// Where and how to export.
#[derive(Clone, Debug)]
pub struct OtelConfig {
    endpoint: Option<String>,
    protocol: Protocol,
    service_name: String,
    resource: Vec<(String, String)>,
    metrics: bool,
    batch: BatchConfig,
    timeout: Duration,
    root_certificates: Vec<RootCertificate>,
}

/// A root certificate to trust (PEM), given as bytes or as a file read at
/// [`OtelConfig::build`].
#[derive(Clone, Debug)]
#[cfg_attr(not(any(feature = "tls", feature = "grpc")), allow(dead_code))]
enum RootCertificate {
    Pem(Vec<u8>),
    File(std::path::PathBuf),
}

impl RootCertificate {
    #[cfg(any(feature = "tls", feature = "grpc"))]
    fn pem(&self) -> Result<Vec<u8>, OtelError> {
        match self {
            RootCertificate::Pem(p) => Ok(p.clone()),
            RootCertificate::File(path) => std::fs::read(path).map_err(|e| {
                OtelError::Tls(format!(
                    "cannot read the certificate {}: {e}",
                    path.display()
                ))
            }),
        }
    }
}

impl Default for OtelConfig {
    fn default() -> Self {
        OtelConfig {
            endpoint: None,
            protocol: Protocol::HttpProtobuf,
            service_name: "agents".to_owned(),
            resource: Vec::new(),
            metrics: true,
            batch: BatchConfig::default(),
            timeout: Duration::from_secs(10),
            root_certificates: Vec::new(),
        }
    }
}

impl OtelConfig {
    /// Defaults: HTTP/protobuf to the endpoint the OTLP exporter reads from
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (else `http://localhost:4318`),
    /// service `agents`, metrics on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`
    /// (`http/protobuf` or `grpc`), `OTEL_EXPORTER_OTLP_CERTIFICATE` (a PEM
    /// file of root certificates to trust besides the system's, read at
    /// [`build`](Self::build)) and `OTEL_SERVICE_NAME`.
    pub fn from_env() -> Self {
        let mut c = Self::default();
        if let Ok(e) = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
            if !e.trim().is_empty() {
                c.endpoint = Some(e.trim().to_owned());
            }
        }
        if let Ok(p) = std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL") {
            if p.trim().eq_ignore_ascii_case("grpc") {
                c.protocol = Protocol::Grpc;
            }
        }
        if let Ok(path) = std::env::var("OTEL_EXPORTER_OTLP_CERTIFICATE") {
            if !path.trim().is_empty() {
                c.root_certificates
                    .push(RootCertificate::File(path.trim().into()));
            }
        }
        if let Ok(s) = std::env::var("OTEL_SERVICE_NAME") {
            if !s.trim().is_empty() {
                c.service_name = s.trim().to_owned();
            }
        }
        c
    }

    /// The collector's base URL (`http://127.0.0.1:4318` for HTTP: the
    /// `/v1/traces` and `/v1/metrics` paths are added; `http://127.0.0.1:4317`
    /// for gRPC).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The transport.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// `service.name` of the resource.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// Adds a resource attribute (`deployment.environment`, or Phoenix's
    /// `openinference.project.name`, say).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource.push((key.into(), value.into()));
        self
    }

    /// Exports the GenAI metrics too (default true).
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Settings of the batching processor in front of the exporter.
    pub fn batch(mut self, batch: BatchConfig) -> Self {
        self.batch = batch;
        self
    }

    /// Trusts the root certificate(s) in `pem` for an `https://` endpoint,
    /// besides the system's (a private CA, or a collector's self-signed
    /// certificate).
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates
            .push(RootCertificate::Pem(pem.into()));
        self
    }

    /// Like [`root_certificate_pem`](Self::root_certificate_pem), with a PEM
    /// file read at [`build`](Self::build).
    pub fn root_certificate_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.root_certificates
            .push(RootCertificate::File(path.into()));
        self
    }

    /// Timeout of one export request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn resource(&self) -> Resource {
        Resource::builder()
            .with_service_name(self.service_name.clone())
            .with_attributes(
                self.resource
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
            )
            .build()
    }

    fn url(&self, path: &str) -> Option<String> {
        let base = self.endpoint.as_ref()?;
        Some(match self.protocol {
            Protocol::HttpProtobuf => format!("{}{path}", base.trim_end_matches('/')),
            Protocol::Grpc => base.clone(),
        })
    }

    /// Builds the exporters and the batching processor.
    pub fn build(self) -> Result<OtelPipeline, OtelError> {
        let resource = self.resource();
        let runtime = Runtime::for_protocol(self.protocol)?;
        let spans = runtime.enter(|| self.span_exporter())?;
        let meter_provider = if self.metrics {
            let exporter = runtime.enter(|| self.metric_exporter())?;
            Some(
                SdkMeterProvider::builder()
                    .with_periodic_exporter(exporter)
                    .with_resource(resource.clone())
                    .build(),
            )
        } else {
            None
        };
        let metrics = meter_provider
            .as_ref()
            .map(|p| GenAiMetrics::new(&p.meter("agents")));
        let mut exporter = OtelExporter::new(spans, metrics);
        exporter.runtime = runtime;
        exporter.set_resource(&resource);
        let processor = Arc::new(BatchTraceProcessor::with_config(exporter, self.batch));
        Ok(OtelPipeline {
            processor,
            meter_provider,
        })
    }

    #[cfg(any(all(feature = "http", not(feature = "tls")), feature = "grpc"))]
    fn is_https(&self) -> bool {
        self.endpoint
            .as_deref()
            .is_some_and(|e| e.trim().to_ascii_lowercase().starts_with("https://"))
    }

    #[cfg(any(feature = "tls", feature = "grpc"))]
    fn root_pems(&self) -> Result<Vec<Vec<u8>>, OtelError> {
        self.root_certificates
            .iter()
            .map(RootCertificate::pem)
            .collect()
    }

    /// The blocking client of the HTTP exporters: TLS through rustls with
    /// the *ring* provider (feature `tls`), the system's roots and ours.
    #[cfg(feature = "http")]
    fn http_client(&self) -> Result<reqwest::blocking::Client, OtelError> {
        #[cfg(not(feature = "tls"))]
        if self.is_https() || !self.root_certificates.is_empty() {
            return Err(OtelError::Tls(
                "an https:// endpoint or a root certificate needs the `tls` feature".into(),
            ));
        }
        #[allow(unused_mut)]
        let mut builder = reqwest::blocking::Client::builder().timeout(self.timeout);
        #[cfg(feature = "tls")]
        {
            install_ring_provider();
            let mut certs = Vec::new();
            for pem in self.root_pems()? {
                certs.extend(reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    OtelError::Tls(format!("cannot parse a root certificate: {e}"))
                })?);
            }
            if !certs.is_empty() {
                builder = builder.tls_certs_merge(certs);
            }
        }
        // A blocking client cannot be built on an async runtime's thread.
        std::thread::spawn(move || builder.build())
            .join()
            .map_err(|_| OtelError::Tls("building the HTTP client panicked".into()))?
            .map_err(|e| OtelError::Build {
                what: "HTTP client",
                message: e.to_string(),
            })
    }

    /// The TLS settings of the gRPC exporters: the system's roots and ours.
    #[cfg(feature = "grpc")]
    fn grpc_tls(
        &self,
    ) -> Result<Option<opentelemetry_otlp::tonic_types::transport::ClientTlsConfig>, OtelError>
    {
        use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig};
        if !self.is_https() && self.root_certificates.is_empty() {
            return Ok(None);
        }
        let mut tls = ClientTlsConfig::new().with_native_roots();
        for pem in self.root_pems()? {
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        Ok(Some(tls))
    }

    fn span_exporter(&self) -> Result<opentelemetry_otlp::SpanExporter, OtelError> {
        let err = |e: opentelemetry_otlp::ExporterBuildError| OtelError::Build {
            what: "span",
            message: e.to_string(),
        };
        match self.protocol {
            #[cfg(feature = "http")]
            Protocol::HttpProtobuf => {
                use opentelemetry_otlp::WithExportConfig;
                use opentelemetry_otlp::WithHttpConfig;
                let mut b = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_http_client(self.http_client()?)
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_timeout(self.timeout);
                if let Some(url) = self.url("/v1/traces") {
                    b = b.with_endpoint(url);
                }
                b.build().map_err(err)
            }
            #[cfg(feature = "grpc")]
            Protocol::Grpc => {
                use opentelemetry_otlp::WithExportConfig;
                let mut b = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_timeout(self.timeout);
                if let Some(url) = self.url("") {
                    b = b.with_endpoint(url);
                }
                if let Some(tls) = self.grpc_tls()? {
                    use opentelemetry_otlp::WithTonicConfig;
                    b = b.with_tls_config(tls);
                }
                b.build().map_err(err)
            }
            #[allow(unreachable_patterns)]
            other => Err(OtelError::Protocol(format!("{other:?}"))),
        }
    }

    fn metric_exporter(&self) -> Result<opentelemetry_otlp::MetricExporter, OtelError> {
        let err = |e: opentelemetry_otlp::ExporterBuildError| OtelError::Build {
            what: "metric",
            message: e.to_string(),
        };
        match self.protocol {
            #[cfg(feature = "http")]
            Protocol::HttpProtobuf => {
                use opentelemetry_otlp::WithExportConfig;
                use opentelemetry_otlp::WithHttpConfig;
                let mut b = opentelemetry_otlp::MetricExporter::builder()
                    .with_http()
                    .with_http_client(self.http_client()?)
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_timeout(self.timeout);
                if let Some(url) = self.url("/v1/metrics") {
                    b = b.with_endpoint(url);
                }
                b.build().map_err(err)
            }
            #[cfg(feature = "grpc")]
            Protocol::Grpc => {
                use opentelemetry_otlp::WithExportConfig;
                let mut b = opentelemetry_otlp::MetricExporter::builder()
                    .with_tonic()
                    .with_timeout(self.timeout);
                if let Some(url) = self.url("") {
                    b = b.with_endpoint(url);
                }
                if let Some(tls) = self.grpc_tls()? {
                    use opentelemetry_otlp::WithTonicConfig;
                    b = b.with_tls_config(tls);
                }
                b.build().map_err(err)
            }
            #[allow(unreachable_patterns)]
            other => Err(OtelError::Protocol(format!("{other:?}"))),
        }
    }
}

/// Installs *ring* as the process's rustls provider unless one is installed
/// (reqwest is built without a provider of its own: no aws-lc).
#[cfg(feature = "tls")]
fn install_ring_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may install one at the same time: either wins.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// What the export thread runs futures on: nothing (HTTP, a blocking
/// client) or a small tokio runtime (gRPC).
#[derive(Default)]
enum Runtime {
    #[default]
    Plain,
    #[cfg(feature = "grpc")]
    Tokio(tokio::runtime::Runtime),
}

impl Runtime {
    fn for_protocol(p: Protocol) -> Result<Self, OtelError> {
        match p {
            #[cfg(feature = "grpc")]
            Protocol::Grpc => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(Runtime::Tokio)
                .map_err(|e| OtelError::Runtime(e.to_string())),
            _ => Ok(Runtime::Plain),
        }
    }

    fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        match self {
            Runtime::Plain => f(),
            #[cfg(feature = "grpc")]
            Runtime::Tokio(rt) => {
                let _guard = rt.enter();
                f()
            }
        }
    }

    fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        match self {
            Runtime::Plain => futures::executor::block_on(fut),
            #[cfg(feature = "grpc")]
            Runtime::Tokio(rt) => rt.block_on(fut),
        }
    }
}

/// A [`TraceExporter`] sending the SDK's spans to an OpenTelemetry span
/// exporter (OTLP, or any `opentelemetry_sdk` exporter), as GenAI spans,
/// and recording the GenAI metrics. Put it behind a [`BatchTraceProcessor`]
/// (as [`OtelConfig::build`] does).
pub struct OtelExporter<E: SpanExporter = opentelemetry_otlp::SpanExporter> {
    spans: E,
    metrics: Option<GenAiMetrics>,
    scope: InstrumentationScope,
    traces: HashMap<Arc<str>, TraceInfo>,
    runtime: Runtime,
}

impl<E: SpanExporter> std::fmt::Debug for OtelExporter<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelExporter").finish_non_exhaustive()
    }
}

impl<E: SpanExporter + 'static> OtelExporter<E> {
    /// Exports through `spans`, recording `metrics` when given.
    pub fn new(spans: E, metrics: Option<GenAiMetrics>) -> Self {
        OtelExporter {
            spans,
            metrics,
            scope: InstrumentationScope::builder("agents")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
            traces: HashMap::new(),
            runtime: Runtime::Plain,
        }
    }

    /// Sets the resource the spans are exported with.
    pub fn set_resource(&mut self, resource: &Resource) {
        self.spans.set_resource(resource);
    }
}

impl<E: SpanExporter + 'static> TraceExporter for OtelExporter<E> {
    fn export(&mut self, batch: &[TraceRecord]) -> Result<(), String> {
        let mut spans = Vec::with_capacity(batch.len());
        let mut ended = Vec::new();
        for record in batch {
            match record {
                TraceRecord::Trace(t) if t.ended_at.is_none() => {
                    self.traces
                        .insert(Arc::clone(&t.trace_id), TraceInfo::of(t));
                }
                TraceRecord::Trace(t) => ended.push(Arc::clone(&t.trace_id)),
                TraceRecord::Span(s) => {
                    if let Some(m) = &self.metrics {
                        m.record(s);
                    }
                    spans.push((
                        Arc::clone(&s.trace_id),
                        s.parent_id.is_none(),
                        to_otel(s, &self.scope),
                    ));
                }
                _ => {}
            }
        }
        add_trace_attrs(&mut spans, &self.traces);
        for id in ended {
            self.traces.remove(&id);
        }
        if spans.is_empty() {
            return Ok(());
        }
        let fut = self
            .spans
            .export(spans.into_iter().map(|(_, _, s)| s).collect());
        self.runtime.block_on(fut).map_err(|e| e.to_string())
    }

    fn shutdown(&mut self) {
        let spans = &self.spans;
        self.runtime.enter(|| {
            let _ = spans.shutdown();
        });
    }
}

/// A built OTLP pipeline: the processor to register, and the metrics
/// provider. Call [`shutdown`](OtelPipeline::shutdown) before the program
/// exits, or spans still queued are lost.
pub struct OtelPipeline {
    processor: Arc<BatchTraceProcessor>,
    meter_provider: Option<SdkMeterProvider>,
}

impl std::fmt::Debug for OtelPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelPipeline")
            .field("processor", &self.processor)
            .finish_non_exhaustive()
    }
}

impl OtelPipeline {
    /// The processor: register it process-wide
    /// ([`agents_core::trace::add_trace_processor`]) or per run
    /// (`RunConfig::trace_processors`).
    pub fn processor(&self) -> Arc<dyn TraceProcessor> {
        self.processor.clone()
    }

    /// The batching processor, for its counters.
    pub fn batch_processor(&self) -> &Arc<BatchTraceProcessor> {
        &self.processor
    }

    /// Exports everything queued so far (spans and metrics) and waits.
    pub fn force_flush(&self) {
        self.processor.force_flush();
        if let Some(m) = &self.meter_provider {
            let _ = m.force_flush();
        }
    }

    /// Flushes and stops the exporters.
    pub fn shutdown(&self) {
        self.processor.shutdown();
        if let Some(m) = &self.meter_provider {
            let _ = m.shutdown();
        }
    }
}
