use super::*;
use crate::document::Value;

fn eval_with(src: &str, fields: &[Field]) -> Result<Value, String> {
    let tables = vec![Table {
        name: "ship".into(),
        entries: vec![("Ground".into(), V::Text(Cow::Owned("01".into())))],
        fallback: None,
    }];
    let e = parse(src, &tables)?;
    let doc = Document::default();
    let ctx = Context {
        tenant: "acme".into(),
        settings: vec![("warehouse".into(), "200".into())],
        ids: vec![("customer".into(), "C100".into())],
    };
    let env = Env {
        current: fields,
        header: fields,
        out: &[],
        doc: &doc,
        ctx: &ctx,
        line: Some(2),
        tables: &tables,
    };
    e.eval(&env).map(V::into_value).map_err(|e| e.0)
}

fn eval(src: &str) -> Result<Value, String> {
    eval_with(src, &[])
}

fn dec(s: &str) -> Value {
    Value::Decimal(s.into())
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn arithmetic_is_decimal_and_exact() {
    assert_eq!(eval("0.1 + 0.2"), Ok(dec("0.3")));
    assert_eq!(eval("round(10 / 3, 2)"), Ok(dec("3.33")));
    assert_eq!(eval("round(2.345, 2)"), Ok(dec("2.35")));
    assert_eq!(eval("round(2.345, 2, 'half-even')"), Ok(dec("2.34")));
    assert_eq!(eval("round(2.349, 2, 'down')"), Ok(dec("2.34")));
    assert_eq!(eval("round_to(12.32, 0.05)"), Ok(dec("12.30")));
    assert_eq!(eval("format_number(5, 2)"), Ok(text("5.00")));
    assert_eq!(eval("-2 * 3"), Ok(dec("-6")));
    assert_eq!(eval("1 / 0"), Err("division by zero (1 / 0)".into()));
}

#[test]
fn text_functions() {
    assert_eq!(eval("concat('a', 1, 'b')"), Ok(text("a1b")));
    assert_eq!(eval("join(' ', 'Ann', '', 'Lee')"), Ok(text("Ann Lee")));
    assert_eq!(
        eval("split('12 Main St, Springfield', ',', 1)"),
        Ok(text("Springfield"))
    );
    assert_eq!(eval("split('a,b', ',', -1)"), Ok(text("b")));
    assert_eq!(eval("split('a,b', ',', 5)"), Ok(Value::Null));
    assert_eq!(eval("left('abcdef', 3)"), Ok(text("abc")));
    assert_eq!(eval("right('abcdef', 2)"), Ok(text("ef")));
    assert_eq!(eval("substr('abcdef', 1, 2)"), Ok(text("bc")));
    assert_eq!(eval("'O''Brien'"), Ok(text("O'Brien")));
}

#[test]
fn fields_scopes_and_defaults() {
    let fields = vec![
        Field::new("Qty", text("abc")),
        Field::new("Name", text("  ")),
        Field::new("Flags", Value::Integer(17)),
    ];
    assert_eq!(
        eval_with("Qty * 2", &fields),
        Err("'abc' is not a decimal".into())
    );
    assert_eq!(eval_with("Name ?? 'none'", &fields), Ok(text("none")));
    assert_eq!(
        eval_with("Missing ?? setting.warehouse", &fields),
        Ok(text("200"))
    );
    assert_eq!(eval_with("id.customer", &fields), Ok(text("C100")));
    assert_eq!(eval_with("line.number", &fields), Ok(Value::Integer(3)));
    assert_eq!(
        eval_with("has_flag(Flags, 16)", &fields),
        Ok(Value::Boolean(true))
    );
    assert_eq!(
        eval_with("has_flag(Flags, 8)", &fields),
        Ok(Value::Boolean(false))
    );
    assert_eq!(eval_with("Missing * 2", &fields), Ok(Value::Null));
}

#[test]
fn lookups_conditions_and_dates() {
    assert_eq!(eval("lookup(ship, 'Ground')"), Ok(text("01")));
    assert_eq!(
        eval("lookup(ship, 'Boat')"),
        Err("'Boat' is not in table ship (add it, or a \"*\" default)".into())
    );
    assert_eq!(eval("lookup(ship, 'Boat', '99')"), Ok(text("99")));
    assert_eq!(eval("if(2 > 1 and not false, 'y', 'n')"), Ok(text("y")));
    assert_eq!(eval("if('20' == 20, 'y', 'n')"), Ok(text("y")));
    assert_eq!(
        eval("format_date(date('03/07/2025', 'MM/dd/yyyy'), 'yyyyMMdd')"),
        Ok(text("20250307"))
    );
    assert_eq!(
        eval("format_date('2025-03-07', 'yyyyMMdd')"),
        Ok(text("20250307"))
    );
    assert!(eval("format_date('07.03.2025', 'yyyyMMdd')").is_err());
}

#[test]
fn bad_expressions_are_refused_when_compiled() {
    let tables: Vec<Table> = Vec::new();
    assert!(
        parse("foo(1)", &tables)
            .unwrap_err()
            .contains("unknown function 'foo'")
    );
    assert!(
        parse("round()", &tables)
            .unwrap_err()
            .contains("takes 1 to 3")
    );
    assert!(
        parse("lookup(nope, X)", &tables)
            .unwrap_err()
            .contains("no table 'nope'")
    );
    assert!(parse("(1 + 2", &tables).unwrap_err().contains("')'"));
    assert!(parse("'open", &tables).unwrap_err().contains("unclosed"));
    assert!(parse("a b", &tables).unwrap_err().contains("unexpected"));
    assert!(
        parse("bogus.X", &tables)
            .unwrap_err()
            .contains("unknown scope")
    );
    assert!(parse("", &tables).is_err());
    assert!(parse("1 # 2", &tables).is_err());
}
