//! A tiny XML checker for the tests of SVG output (the sequence chart, compare's
//! `--diagram`): well-formedness (one root, matched tags, quoted unique attributes, only XML's
//! predefined entities and character references) and the elements in document order. Included
//! with `#[path]` by the test binaries that use it.
// Each binary uses a part of it.
#![allow(dead_code)]

/// One element of a document: its name and attributes, and the text directly inside it.
#[derive(Debug, Clone)]
pub struct Elem {
    /// The element's name.
    pub name: String,
    /// Its attributes, in order, their values decoded.
    pub attrs: Vec<(String, String)>,
    /// The text directly inside it, decoded.
    pub text: String,
}

impl Elem {
    /// Attribute `name`'s value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Attribute `name` as a number (panics if absent or not one: a test failure).
    pub fn num(&self, name: &str) -> f64 {
        self.attr(name)
            .unwrap_or_else(|| panic!("{} has no {name}: {self:?}", self.name))
            .parse()
            .unwrap_or_else(|e| panic!("{name} of {self:?}: {e}"))
    }

    /// Whether its `class` attribute holds `class`.
    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|w| w == class))
    }
}

/// The text of character data or an attribute value, checking that it uses only XML's
/// predefined entities and character references and holds no `<`.
fn xml_text(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(';')
            .ok_or_else(|| format!("unterminated entity in {s:?}"))?;
        let ent = &rest[i + 1..i + end];
        let num = |digits: &str, radix: u32| {
            u32::from_str_radix(digits, radix)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("bad reference &{ent};"))
        };
        out.push(match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") => num(&e[2..], 16)?,
            e if e.starts_with('#') => num(&e[1..], 10)?,
            e => return Err(format!("unknown entity &{e};")),
        });
        rest = &rest[i + end + 1..];
    }
    if rest.contains('<') {
        return Err(format!("'<' in text {s:?}"));
    }
    out.push_str(rest);
    Ok(out)
}

fn xml_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-' | '.'))
}

/// The attributes of a start tag (the text after its name), checked: names, quoting, no
/// repeats.
fn xml_attrs(name: &str, mut a: &str) -> Result<Vec<(String, String)>, String> {
    let mut attrs: Vec<(String, String)> = Vec::new();
    a = a.trim_start();
    while !a.is_empty() {
        let eq = a
            .find('=')
            .ok_or_else(|| format!("attribute without value in <{name}>"))?;
        let an = a[..eq].trim();
        if !xml_name(an) || attrs.iter().any(|(n, _)| n == an) {
            return Err(format!("bad or repeated attribute {an:?} in <{name}>"));
        }
        let v = a[eq + 1..].trim_start();
        let q = v.chars().next().ok_or("attribute without value")?;
        if q != '"' && q != '\'' {
            return Err(format!("unquoted attribute {an} in <{name}>"));
        }
        let close = v[1..].find(q).ok_or("unterminated attribute value")?;
        attrs.push((an.to_string(), xml_text(&v[1..1 + close])?));
        let after = &v[close + 2..];
        if !after.is_empty() && !after.starts_with(char::is_whitespace) {
            return Err(format!("no space between attributes in <{name}>"));
        }
        a = after.trim_start();
    }
    Ok(attrs)
}

/// Parses `doc` as XML (an optional declaration, comments, one root element), checking that it
/// is well-formed, and returns its elements in document order.
pub fn parse_xml(doc: &str) -> Result<Vec<Elem>, String> {
    let mut elems: Vec<Elem> = Vec::new();
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut roots = 0;
    let mut rest = doc;
    if let Some(r) = rest.strip_prefix("<?xml") {
        rest = &r[r.find("?>").ok_or("unterminated XML declaration")? + 2..];
    }
    loop {
        let lt = rest.find('<');
        let text = &rest[..lt.unwrap_or(rest.len())];
        let decoded = xml_text(text)?;
        match open.last() {
            Some(&(_, i)) => elems[i].text.push_str(&decoded),
            None if !text.trim().is_empty() => return Err(format!("text outside: {text:?}")),
            None => {}
        }
        let Some(lt) = lt else { break };
        rest = &rest[lt..];
        if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->").ok_or("unterminated comment")? + 3..];
            continue;
        }
        let gt = rest.find('>').ok_or("unterminated tag")?;
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let (o, _) = open
                .pop()
                .ok_or_else(|| format!("</{name}> closes nothing"))?;
            if o != name.trim_end() {
                return Err(format!("</{name}> closes <{o}>"));
            }
            continue;
        }
        let (tag, empty) = tag.strip_suffix('/').map_or((tag, false), |t| (t, true));
        let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
        let name = &tag[..name_end];
        if !xml_name(name) {
            return Err(format!("bad element name {name:?}"));
        }
        let attrs = xml_attrs(name, &tag[name_end..])?;
        if open.is_empty() {
            roots += 1;
            if roots > 1 {
                return Err("more than one root element".into());
            }
        }
        elems.push(Elem {
            name: name.to_string(),
            attrs,
            text: String::new(),
        });
        if !empty {
            open.push((name.to_string(), elems.len() - 1));
        }
    }
    if let Some((o, _)) = open.pop() {
        return Err(format!("<{o}> never closed"));
    }
    if roots != 1 {
        return Err("no root element".into());
    }
    Ok(elems)
}

#[test]
fn xml_checker_refuses_what_is_not_xml() {
    for bad in [
        "<a><b></a></b>",
        "<a x=1/>",
        "<a>x & y</a>",
        "<a/><b/>",
        "<a>",
        "<a x='1' x='2'/>",
    ] {
        assert!(parse_xml(bad).is_err(), "{bad}");
    }
    let ok = parse_xml(r#"<?xml version="1.0"?><a class="x y"><b y='&lt;'>t&amp;</b></a>"#)
        .expect("well-formed");
    assert!(ok[0].has_class("y") && ok[1].attr("y") == Some("<") && ok[1].text == "t&");
}
