//! The `#[tool]` attribute of the agents SDK.
//!
//! `#[tool]` turns a plain Rust function, async or not, into a constructor of
//! a `FunctionTool`:
//!
//! - the function's doc comment becomes the tool's description;
//! - each parameter becomes a property of the arguments' JSON schema, with
//!   the description given by `#[arg("...")]` on the parameter (or
//!   `args(name = "...")` in the attribute);
//! - an optional first parameter of type `ToolContext<C>` receives the call's
//!   context (the run's user context, the call id, the cancellation token);
//! - the return type is anything `IntoToolOutput` (`String`, `ToolOutput`,
//!   `Json<T>`, `serde_json::Value`, ...) or a `Result` of it whose error is
//!   `Display`: the error text goes back to the model.
//!
//! The function keeps its name but now returns the tool, ready for
//! `Agent::builder(..).tool(get_weather())`. Use it through the facade as
//! `agents::tool`; it also works with `agents-core` alone.
//!
//! ```
//! use agents_core::tool::{Tool, ToolContext};
//! use agents_macros::tool;
//!
//! /// Returns the weather in a city.
//! #[tool]
//! async fn get_weather(
//!     #[arg("The city, e.g. Paris")] city: String,
//!     #[arg("Celsius or fahrenheit")] unit: Option<String>,
//! ) -> String {
//!     format!("Sunny in {city}, 21°{}", if unit.as_deref() == Some("fahrenheit") { "F" } else { "C" })
//! }
//!
//! /// Adds two numbers.
//! #[tool(name = "add", timeout = "2s")]
//! fn add_numbers(ctx: ToolContext, a: i64, b: i64) -> Result<String, String> {
//!     let _ = ctx.call_id;
//!     a.checked_add(b).map(|s| s.to_string()).ok_or_else(|| "overflow".to_owned())
//! }
//!
//! let weather = get_weather::<()>();
//! assert_eq!(weather.name(), "get_weather");
//! assert_eq!(weather.description(), "Returns the weather in a city.");
//! let schema = weather.parameters();
//! assert_eq!(schema["properties"]["city"]["description"], "The city, e.g. Paris");
//! assert_eq!(schema["required"], serde_json::json!(["city", "unit"]));
//! assert_eq!(add_numbers().name(), "add");
//! ```
//!
//! # Options
//!
//! `#[tool(name = "...", description = "...", args(param = "..."), strict = false,
//! timeout = "30s", needs_approval, crate = "path")]`:
//!
//! | option | effect |
//! |---|---|
//! | `name` | the name the model calls (default: the function's name) |
//! | `description` | the description (default: the doc comment, which is then optional) |
//! | `args(p = "...")` | parameter descriptions, instead of `#[arg("...")]` on each parameter |
//! | `strict = false` | send the schema as generated, not in strict mode (needed for maps and `serde_json::Value` parameters) |
//! | `timeout = "..."` | per-call timeout: `"500ms"`, `"30s"`, `"2m"` |
//! | `needs_approval` | every call pauses the run for a human decision (`needs_approval = false` to spell out the default) |
//! | `crate = "..."` | the path of the SDK crate, when it is neither `agents` nor `agents_core` |
//!
//! # Panics
//!
//! In strict mode (the default) the constructor panics when a parameter's
//! type has no strict schema (a map, `serde_json::Value`): the message names
//! the field and points to `strict = false`.
//!
//! Without a `ToolContext` parameter the constructor is generic over the
//! agent's context type `C`; with one, `C` is the context parameter's.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, ExprLit, FnArg, Ident, ItemFn, Lit, LitBool, LitStr, Meta, Pat, ReturnType,
    Type,
};

/// Turns a function into a `FunctionTool` constructor. See the [crate docs](crate).
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The options given in `#[tool(...)]`.
#[derive(Default)]
struct Options {
    name: Option<LitStr>,
    description: Option<LitStr>,
    args: Vec<(Ident, LitStr)>,
    strict: Option<LitBool>,
    timeout_ms: Option<(u64, Span)>,
    needs_approval: Option<LitBool>,
    krate: Option<syn::Path>,
}

const OPTIONS: &str = "name, description, args, strict, timeout, needs_approval, crate";

fn parse_options(attr: TokenStream2) -> syn::Result<Options> {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        let set_twice = || meta.error(format!("`{key}` is given twice"));
        match key.as_str() {
            "name" => {
                if options.name.is_some() {
                    return Err(set_twice());
                }
                let name: LitStr = meta.value()?.parse()?;
                if !valid_tool_name(&name.value()) {
                    return Err(syn::Error::new(
                        name.span(),
                        "a tool name is 1 to 64 characters of `a-z`, `A-Z`, `0-9`, `_` or `-`",
                    ));
                }
                options.name = Some(name);
            }
            "description" => {
                if options.description.is_some() {
                    return Err(set_twice());
                }
                options.description = Some(meta.value()?.parse()?);
            }
            "strict" => {
                if options.strict.is_some() {
                    return Err(set_twice());
                }
                options.strict = Some(meta.value()?.parse()?);
            }
            "needs_approval" => {
                if options.needs_approval.is_some() {
                    return Err(set_twice());
                }
                options.needs_approval = Some(if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse()?
                } else {
                    LitBool::new(true, meta.path.span())
                });
            }
            "timeout" => {
                if options.timeout_ms.is_some() {
                    return Err(set_twice());
                }
                let text: LitStr = meta.value()?.parse()?;
                let ms = parse_duration_ms(&text.value()).ok_or_else(|| {
                    syn::Error::new(
                        text.span(),
                        "a timeout is a positive number with a unit: \"500ms\", \"30s\" or \"2m\"",
                    )
                })?;
                options.timeout_ms = Some((ms, text.span()));
            }
            "args" => meta.parse_nested_meta(|arg| {
                let ident = arg
                    .path
                    .get_ident()
                    .cloned()
                    .ok_or_else(|| arg.error("expected a parameter name"))?;
                let text: LitStr = arg.value()?.parse()?;
                options.args.push((ident, text));
                Ok(())
            })?,
            "crate" => {
                let text: LitStr = meta.value()?.parse()?;
                options.krate = Some(text.parse()?);
            }
            _ => {
                return Err(meta.error(format!(
                    "unknown `#[tool]` option; the options are: {OPTIONS}"
                )))
            }
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(options)
}

/// OpenAI's rule for function names.
fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `"500ms"`, `"30s"`, `"2m"` as milliseconds; `None` when malformed or zero.
fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => return None,
    };
    number.checked_mul(factor).filter(|ms| *ms > 0)
}

/// One parameter of the function, besides the context.
struct Param {
    ident: Ident,
    ty: Type,
    description: Option<String>,
}

/// The description given with `#[arg("...")]` or `#[arg(description = "...")]`,
/// removed from the parameter's attributes.
fn take_arg_attribute(attrs: &mut Vec<Attribute>) -> syn::Result<Option<LitStr>> {
    let mut found = None;
    let mut error = None;
    attrs.retain(|attr| {
        if !attr.path().is_ident("arg") {
            return true;
        }
        let parsed = match &attr.meta {
            Meta::List(list) => list.parse_args_with(|input: syn::parse::ParseStream<'_>| {
                if input.peek(LitStr) {
                    input.parse::<LitStr>()
                } else {
                    let key: Ident = input.parse()?;
                    if key != "description" {
                        return Err(syn::Error::new(
                            key.span(),
                            "expected `#[arg(\"...\")]` or `#[arg(description = \"...\")]`",
                        ));
                    }
                    input.parse::<syn::Token![=]>()?;
                    input.parse::<LitStr>()
                }
            }),
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Ok(s.clone()),
                other => Err(syn::Error::new(other.span(), "expected a string")),
            },
            Meta::Path(path) => Err(syn::Error::new(
                path.span(),
                "`#[arg]` needs a description: `#[arg(\"...\")]`",
            )),
        };
        match parsed {
            Ok(text) if found.is_none() => found = Some(text),
            Ok(text) => {
                error.get_or_insert(syn::Error::new(text.span(), "`#[arg]` is given twice"));
            }
            Err(e) => {
                error.get_or_insert(e);
            }
        }
        false
    });
    match error {
        Some(e) => Err(e),
        None => Ok(found),
    }
}

/// The doc comment of the function, as one text.
fn doc_text(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
            {
                let line = s.value();
                lines.push(
                    line.strip_prefix(' ')
                        .unwrap_or(&line)
                        .trim_end()
                        .to_owned(),
                );
            }
        }
    }
    lines.join("\n").trim().to_owned()
}

/// The last path segment of a type, when the type is a path.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

fn is_tool_context(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "ToolContext")
}

/// The context type `C` of `ToolContext<C>` (`()` when it is left out).
fn context_type(ty: &Type) -> Type {
    if let Some(syn::PathSegment {
        arguments: syn::PathArguments::AngleBracketed(args),
        ..
    }) = last_segment(ty)
    {
        for arg in &args.args {
            if let syn::GenericArgument::Type(t) = arg {
                return t.clone();
            }
        }
    }
    syn::parse_quote!(())
}

/// Rejects parameter types that cannot be deserialized into an owned value.
fn check_owned(ty: &Type) -> syn::Result<()> {
    match ty {
        Type::Reference(r) => Err(syn::Error::new(
            r.span(),
            "tool parameters are deserialized from the model's JSON and must be owned types \
             (`String` instead of `&str`, `Vec<T>` instead of `&[T]`)",
        )),
        Type::ImplTrait(t) => Err(syn::Error::new(
            t.span(),
            "tool parameters need a concrete type: its JSON schema is sent to the model",
        )),
        _ => Ok(()),
    }
}

fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The path of the SDK crate as the calling crate names it.
fn sdk_path(options: &Options) -> TokenStream2 {
    use proc_macro_crate::{crate_name, FoundCrate};
    if let Some(path) = &options.krate {
        return path.to_token_stream();
    }
    let named = |found: FoundCrate, own: &str| match found {
        // Itself: the crate's own tests, examples and doc-tests name it too.
        FoundCrate::Itself => {
            let ident = Ident::new(own, Span::call_site());
            quote!(::#ident)
        }
        FoundCrate::Name(name) => {
            let ident = Ident::new(&name, Span::call_site());
            quote!(::#ident)
        }
    };
    if let Ok(found) = crate_name("agents") {
        return named(found, "agents");
    }
    if let Ok(found) = crate_name("agents-core") {
        return named(found, "agents_core");
    }
    quote!(::agents)
}

fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let options = parse_options(attr)?;
    let mut function: ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "`#[tool]` goes on a function: `#[tool] fn name(..) -> T`",
        )
    })?;
    let sig = &function.sig;
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a `#[tool]` function cannot be generic: the JSON schema of its parameters is built \
             from their concrete types",
        ));
    }
    if let Some(receiver) = sig.receiver() {
        return Err(syn::Error::new(
            receiver.span(),
            "`#[tool]` goes on a free function, not a method",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new(
            variadic.span(),
            "`#[tool]` functions cannot be variadic",
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        return Err(syn::Error::new(
            unsafety.span(),
            "a tool cannot be an `unsafe fn`",
        ));
    }
    if let ReturnType::Default = sig.output {
        return Err(syn::Error::new(
            sig.ident.span(),
            "a tool returns what the model reads: anything `IntoToolOutput` (`String`, \
             `ToolOutput`, `Json<T>`, `serde_json::Value`) or a `Result` of it",
        ));
    }

    // Parameters: an optional leading ToolContext, then the arguments.
    let mut context: Option<(Ident, Type)> = None;
    let mut params = Vec::new();
    for (index, input) in function.sig.inputs.iter_mut().enumerate() {
        let FnArg::Typed(pat_type) = input else {
            continue;
        };
        let description = take_arg_attribute(&mut pat_type.attrs)?;
        let ident = match &*pat_type.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "tool parameters must be plain names: each becomes a property of the JSON \
                     arguments",
                ))
            }
        };
        if is_tool_context(&pat_type.ty) {
            if index != 0 {
                return Err(syn::Error::new(
                    pat_type.ty.span(),
                    "the `ToolContext` parameter must come first",
                ));
            }
            if let Some(d) = description {
                return Err(syn::Error::new(
                    d.span(),
                    "the `ToolContext` parameter is not sent to the model and takes no description",
                ));
            }
            context = Some((ident, context_type(&pat_type.ty)));
            continue;
        }
        if let Type::Reference(r) = &*pat_type.ty {
            if is_tool_context(&r.elem) {
                return Err(syn::Error::new(
                    r.span(),
                    "take the `ToolContext` by value: `ctx: ToolContext<C>`",
                ));
            }
        }
        check_owned(&pat_type.ty)?;
        params.push(Param {
            ident,
            ty: (*pat_type.ty).clone(),
            description: description.map(|d| d.value()),
        });
    }
    for (ident, text) in &options.args {
        let Some(param) = params.iter_mut().find(|p| p.ident == *ident) else {
            return Err(syn::Error::new(
                ident.span(),
                format!("`args` names `{ident}`, which is not a parameter of this tool"),
            ));
        };
        if param.description.is_some() {
            return Err(syn::Error::new(
                ident.span(),
                format!("`{ident}` is described twice (`args` and `#[arg]`)"),
            ));
        }
        param.description = Some(text.value());
    }

    let sdk = sdk_path(&options);
    let fn_ident = function.sig.ident.clone();
    let tool_name = options
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| fn_ident.to_string());
    let description = match &options.description {
        Some(d) => d.value(),
        None => {
            let doc = doc_text(&function.attrs);
            if doc.is_empty() {
                return Err(syn::Error::new(
                    fn_ident.span(),
                    "a tool needs a description for the model: add a doc comment (`/// ...`) or \
                     `#[tool(description = \"...\")]`",
                ));
            }
            doc
        }
    };

    let vis = function.vis.clone();
    let args_ident = format_ident!("__{}ToolArgs", camel_case(&fn_ident.to_string()));
    let cfg_attrs: Vec<&Attribute> = function
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect();
    let doc_attrs: Vec<&Attribute> = function
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();
    let serde_path = quote!(#sdk::__private::serde).to_string();
    let schemars_path = quote!(#sdk::__private::schemars).to_string();
    let field_defs = params.iter().map(|p| {
        let ident = &p.ident;
        let ty = &p.ty;
        let doc = p.description.as_ref().map(|d| quote!(#[doc = #d]));
        quote!(#doc #vis #ident: #ty)
    });
    let field_names: Vec<&Ident> = params.iter().map(|p| &p.ident).collect();

    // The original function, kept as an inner function of the constructor.
    let impl_ident = format_ident!("__{}_tool_impl", fn_ident);
    let mut inner = function.clone();
    inner.sig.ident = impl_ident.clone();
    inner.vis = syn::Visibility::Inherited;
    inner.attrs.retain(|a| !a.path().is_ident("doc"));
    let is_async = inner.sig.asyncness.is_some();

    let (ctx_pattern, ctx_arg, ctx_ty, generics) = match &context {
        Some((ident, ty)) => (quote!(#ident), quote!(#ident,), quote!(#ty), quote!()),
        None => (
            quote!(_),
            quote!(),
            quote!(C),
            quote!(<C: ::core::marker::Send + ::core::marker::Sync + 'static>),
        ),
    };
    let call = if is_async {
        quote!(#impl_ident(#ctx_arg #(#field_names),*).await)
    } else {
        quote!(#impl_ident(#ctx_arg #(#field_names),*))
    };
    let output_ty = match &function.sig.output {
        ReturnType::Type(_, ty) => ty.clone(),
        ReturnType::Default => Box::new(syn::parse_quote!(())),
    };
    let returns_result = last_segment(&output_ty).is_some_and(|s| s.ident == "Result");
    let body = if returns_result {
        quote!(#call.map(#sdk::tool::IntoToolOutput::into_tool_output))
    } else {
        // A qualified path naming the return type: a type that is not a tool
        // output is reported at the return type.
        let convert = quote_spanned!(output_ty.span()=>
            <#output_ty as #sdk::tool::IntoToolOutput>::into_tool_output
        );
        quote!(::core::result::Result::<_, ::core::convert::Infallible>::Ok(#convert(#call)))
    };
    let strict = options.strict.as_ref().is_none_or(LitBool::value);
    let closure = quote! {
        |#ctx_pattern: #sdk::tool::ToolContext<#ctx_ty>, args: #args_ident| {
            let #args_ident { #(#field_names),* } = args;
            async move { #body }
        }
    };
    let build = if strict {
        let hint = format!(
            "the `#[tool]` function `{fn_ident}` has no strict schema: {{}}. For a `#[tool]` \
             function, write `#[tool(strict = false)]`"
        );
        quote! {
            match #sdk::tool::FunctionTool::try_new(#tool_name, #description, #closure) {
                ::core::result::Result::Ok(tool) => tool,
                ::core::result::Result::Err(error) => ::core::panic!(#hint, error),
            }
        }
    } else {
        quote!(#sdk::tool::FunctionTool::new_non_strict(#tool_name, #description, #closure))
    };
    let timeout = options.timeout_ms.map(
        |(ms, span)| quote_spanned!(span=> .with_timeout(::core::time::Duration::from_millis(#ms))),
    );
    let approval = options
        .needs_approval
        .as_ref()
        .map(|b| quote!(.needs_approval(#b)));
    let ctor_doc = format!(" Builds the `{tool_name}` tool (made by `#[tool]`).");

    Ok(quote! {
        #(#cfg_attrs)*
        #[doc(hidden)]
        #[allow(non_camel_case_types, missing_docs)]
        #[derive(#sdk::__private::serde::Deserialize, #sdk::__private::schemars::JsonSchema)]
        #[serde(crate = #serde_path)]
        #[schemars(crate = #schemars_path)]
        #vis struct #args_ident {
            #(#field_defs),*
        }

        #(#cfg_attrs)*
        #(#doc_attrs)*
        ///
        #[doc = #ctor_doc]
        #[must_use]
        #vis fn #fn_ident #generics () -> #sdk::tool::FunctionTool<#ctx_ty, #args_ident> {
            #inner
            #build
            #timeout
            #approval
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        for (text, expected) in [
            ("500ms", Some(500)),
            ("30s", Some(30_000)),
            ("2m", Some(120_000)),
            (" 1s ", Some(1_000)),
            ("0s", None),
            ("s", None),
            ("10", None),
            ("10h", None),
            ("-1s", None),
            ("99999999999999999999s", None),
        ] {
            assert_eq!(parse_duration_ms(text), expected, "{text:?}");
        }
    }

    #[test]
    fn tool_names_follow_the_api_rule() {
        assert!(valid_tool_name("get_weather-2"));
        assert!(!valid_tool_name(""));
        assert!(!valid_tool_name("get weather"));
        assert!(!valid_tool_name(&"a".repeat(65)));
    }

    #[test]
    fn snake_case_becomes_camel_case() {
        assert_eq!(camel_case("get_weather"), "GetWeather");
        assert_eq!(camel_case("_x__y"), "XY");
    }
}
