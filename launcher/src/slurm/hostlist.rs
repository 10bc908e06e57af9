//! Slurm hostlist expressions (`node[01-04,07],gpu-a[1-2]`), expanded natively so no `scontrol` is needed
//! (it is often missing inside containers).
//!
//! Grammar: host expressions separated by `,` (outside brackets) or whitespace. Each expression is literal text
//! with zero or more bracket groups; a group is a `,`-separated list of numbers or `lo-hi` ranges. Several groups
//! expand as a Cartesian product with the last group varying fastest (`rack[1-2]-n[1-2]` → rack1-n1, rack1-n2,
//! rack2-n1, rack2-n2). Zero padding follows the low bound's digit count (`n[08-10]` → n08, n09, n10). The order
//! is the one `scontrol show hostnames` prints. The legacy 3-D form (`bgl[123x456]`) and steps are rejected.

/// A malformed hostlist, with the offending expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hostlist {expr:?}: {detail}")]
pub struct HostlistError {
    /// The whole hostlist expression.
    pub expr: String,
    /// What is wrong.
    pub detail: String,
}

/// Refuse expansions beyond this many hosts (a typo like `n[1-99999999]` should not allocate gigabytes).
const MAX_HOSTS: usize = 1 << 20;

/// Expands a hostlist expression into host names, in Slurm's order.
pub fn expand(expr: &str) -> Result<Vec<String>, HostlistError> {
    let err = |detail: String| HostlistError {
        expr: expr.to_string(),
        detail,
    };
    let mut hosts = Vec::new();
    for item in split_top_level(expr).map_err(err)? {
        let parts = parse_item(&item).map_err(err)?;
        let mut expanded = vec![String::new()];
        for part in parts {
            expanded = match part {
                Part::Text(t) => expanded.into_iter().map(|h| h + &t).collect(),
                Part::Group(values) => {
                    if expanded.len().saturating_mul(values.len()) > MAX_HOSTS {
                        return Err(err(format!("expands to more than {MAX_HOSTS} hosts")));
                    }
                    expanded
                        .iter()
                        .flat_map(|h| values.iter().map(move |v| format!("{h}{v}")))
                        .collect()
                }
            };
        }
        hosts.extend(expanded);
        if hosts.len() > MAX_HOSTS {
            return Err(err(format!("expands to more than {MAX_HOSTS} hosts")));
        }
    }
    Ok(hosts)
}

/// The first host of a hostlist (the conventional master).
pub fn first_host(expr: &str) -> Result<String, HostlistError> {
    expand(expr)?
        .into_iter()
        .next()
        .ok_or_else(|| HostlistError {
            expr: expr.to_string(),
            detail: "contains no host".into(),
        })
}

enum Part {
    Text(String),
    Group(Vec<String>),
}

/// Splits at commas and whitespace outside brackets.
fn split_top_level(expr: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in expr.chars() {
        match c {
            '[' => {
                if depth > 0 {
                    return Err("nested '['".into());
                }
                depth += 1;
                current.push(c);
            }
            ']' => {
                if depth == 0 {
                    return Err("']' without '['".into());
                }
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut current)),
            c if c.is_whitespace() => {
                if depth > 0 {
                    return Err("whitespace inside brackets".into());
                }
                items.push(std::mem::take(&mut current));
            }
            c => current.push(c),
        }
    }
    if depth > 0 {
        return Err("unclosed '['".into());
    }
    items.push(current);
    Ok(items.into_iter().filter(|s| !s.is_empty()).collect())
}

fn parse_item(item: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = item;
    while let Some(open) = rest.find('[') {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find(']')
            .map(|i| open + i)
            .ok_or_else(|| format!("unclosed '[' in {item:?}"))?;
        parts.push(Part::Group(parse_group(&rest[open + 1..close], item)?));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    Ok(parts)
}

fn parse_group(body: &str, item: &str) -> Result<Vec<String>, String> {
    if body.is_empty() {
        return Err(format!("empty brackets in {item:?}"));
    }
    let mut values = Vec::new();
    for range in body.split(',') {
        let (lo, hi) = match range.split_once('-') {
            Some((lo, hi)) => (lo, hi),
            None => (range, range),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(lo) || !digits(hi) {
            return Err(format!(
                "{range:?} in {item:?} is not a number or a lo-hi range"
            ));
        }
        let width = lo.len();
        let lo_n: u64 = lo
            .parse()
            .map_err(|_| format!("{lo:?} in {item:?} is too large"))?;
        let hi_n: u64 = hi
            .parse()
            .map_err(|_| format!("{hi:?} in {item:?} is too large"))?;
        if hi_n < lo_n {
            return Err(format!("range {range:?} in {item:?} runs backwards"));
        }
        if (hi_n - lo_n) as usize >= MAX_HOSTS {
            return Err(format!(
                "range {range:?} in {item:?} has more than {MAX_HOSTS} values"
            ));
        }
        values.extend((lo_n..=hi_n).map(|n| format!("{n:0width$}")));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(s: &str) -> Vec<String> {
        expand(s).unwrap()
    }

    #[test]
    fn anchor_test_vectors() {
        // launcher-anchors §2.3.
        assert_eq!(ex("n[1-3]"), ["n1", "n2", "n3"]);
        assert_eq!(ex("n[001-003]"), ["n001", "n002", "n003"]);
        assert_eq!(ex("a1,b[2-3]"), ["a1", "b2", "b3"]);
        assert_eq!(ex("x[9-11]"), ["x9", "x10", "x11"]);
        assert_eq!(ex("p[1-2]q[3-4]"), ["p1q3", "p1q4", "p2q3", "p2q4"]);
    }

    #[test]
    fn issue_example_and_more() {
        assert_eq!(
            ex("node[01-04,07],gpu-a[1-2]"),
            ["node01", "node02", "node03", "node04", "node07", "gpu-a1", "gpu-a2"]
        );
        assert_eq!(ex("gpu[1-3]-ib"), ["gpu1-ib", "gpu2-ib", "gpu3-ib"]);
        assert_eq!(
            ex("rack[1-2]-node[01-02]"),
            [
                "rack1-node01",
                "rack1-node02",
                "rack2-node01",
                "rack2-node02"
            ]
        );
        assert_eq!(ex("a b\tc"), ["a", "b", "c"]);
        assert_eq!(ex(" host1 , host2 "), ["host1", "host2"]);
        assert_eq!(ex("n[08-10]"), ["n08", "n09", "n10"]);
        assert_eq!(ex("n[5]"), ["n5"]);
        assert_eq!(ex("n[3,1]"), ["n3", "n1"]);
        assert_eq!(ex("plain"), ["plain"]);
        assert_eq!(ex(""), Vec::<String>::new());
        assert_eq!(ex("node-1.cluster.local"), ["node-1.cluster.local"]);
        assert_eq!(first_host("c[10-12],d1").unwrap(), "c10");
    }

    #[test]
    fn malformed_expressions_are_named() {
        for bad in [
            "n[1-3",
            "n1-3]",
            "n[]",
            "n[a-b]",
            "n[3-1]",
            "n[[1]]",
            "bgl[123x456]",
            "n[1-9:2]",
            "n[1 - 2]",
        ] {
            let err = expand(bad).unwrap_err();
            assert_eq!(err.expr, bad);
            assert!(
                err.to_string().starts_with(&format!("hostlist {bad:?}: ")),
                "{err}"
            );
        }
        assert!(first_host(" , ")
            .unwrap_err()
            .to_string()
            .contains("contains no host"));
        assert!(expand("n[1-99999999]")
            .unwrap_err()
            .detail
            .contains("more than"));
    }
}
