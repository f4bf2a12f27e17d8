//! The invoices a period's close makes: every tenant's plan spans and usage
//! rated for each layer (wholesale, retail, list), grouped per recipient.

use super::*;
use crate::COOP_NAME;
use crate::decimal::MAX_QUANTITY;
use crate::entity::invoice::InvoiceLayer;

/// An invoice to make.
pub(super) struct Draft {
    pub(super) close_key: String,
    pub(super) layer: InvoiceLayer,
    pub(super) world: Option<ResellerId>,
    pub(super) issuer_reseller_id: Option<ResellerId>,
    pub(super) recipient_reseller_id: Option<ResellerId>,
    pub(super) recipient_customer_id: Option<CustomerId>,
    pub(super) currency: String,
    pub(super) issuer_name: String,
    pub(super) recipient_name: String,
    pub(super) recipient_email: Option<String>,
    pub(super) tax_rate: Decimal,
    pub(super) reverse_charge: bool,
    pub(super) lines: Vec<(TenantId, RatedLine)>,
}

/// Every invoice the period calls for, in a fixed order (so numbers are
/// handed out the same way on a rerun), and the close keys that cannot be
/// made, with why: a tenant whose usage of a metric passed
/// [`crate::decimal::MAX_QUANTITY`] in the period is not rated (its
/// amounts could not be computed exactly), so neither are the invoices it
/// would be on; every other invoice is.
pub(super) async fn drafts(
    db: &impl ConnectionTrait,
    period_id: BillingPeriodId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(Vec<Draft>, Vec<(String, String)>)> {
    let tenants: Vec<tenant::Model> = tenant::Entity::find()
        .filter(tenant::Column::CreatedAt.lt(end))
        .all(db)
        .await?
        .into_iter()
        .filter(|t| t.terminated_at.is_none_or(|at| at > start))
        .collect();
    if tenants.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let metrics = metric_defs(db).await?;
    // The usage (the long part) and everything else, together.
    let (usage, loaded) = futures::join!(quantities(db, &metrics, None, start, end), terms(db));
    let Terms {
        plans,
        history,
        customers,
        resellers,
        member_emails,
        price_lists,
    } = loaded?;
    let mut whole: HashMap<TenantId, HashMap<String, Decimal>> = HashMap::new();
    for ((t, m), q) in usage? {
        whole.entry(t).or_default().insert(m, q);
    }

    // Key → draft; BTreeMap orders them.
    let mut out: BTreeMap<String, Draft> = BTreeMap::new();
    let mut unmade: BTreeMap<String, String> = BTreeMap::new();
    let mut sorted = tenants;
    sorted.sort_by(|a, b| a.slug.cmp(&b.slug));
    for t in &sorted {
        let Some(cust) = customers.get(&t.customer_id) else {
            continue;
        };
        let from = t.created_at.max(start);
        let to = t.terminated_at.map_or(end, |x| x.min(end));
        let mut spans = Vec::new();
        let segs = segments(history.get(&t.id), t.plan_id, from, to);
        for (plan_id, s_from, s_to) in &segs {
            let Some(plan) = plans.get(plan_id) else {
                continue;
            };
            if plan.currency != cust.currency {
                // Prices in one currency are not billed as another's.
                tracing::error!(tenant = %t.slug, plan = %plan.code, plan_currency = %plan.currency, customer_currency = %cust.currency, "plan and customer currencies differ: the span is not billed");
                continue;
            }
            let usage: HashMap<String, Decimal> =
                if segs.len() == 1 && *s_from == start && *s_to == end {
                    whole.remove(&t.id).unwrap_or_default()
                } else {
                    quantities(db, &metrics, Some(t.id), *s_from, *s_to)
                        .await?
                        .into_iter()
                        .map(|((_, m), q)| (m, q))
                        .collect()
                };
            spans.push(Span {
                plan: plan.clone(),
                from: *s_from,
                to: *s_to,
                usage,
            });
        }
        if spans.is_empty() {
            continue;
        }
        let currency = cust.currency.clone();
        let minor = minor_digits(&currency);
        let oversized = spans
            .iter()
            .flat_map(|s| &s.usage)
            .find(|(_, q)| **q > MAX_QUANTITY);
        if let Some((metric, q)) = oversized {
            let why = format!(
                "tenant {} used {q} {metric} in the period, more than can be billed ({MAX_QUANTITY})",
                t.slug
            );
            let keys = match t.reseller_id {
                Some(r) => vec![
                    format!("{period_id}:wholesale:{r}:{currency}"),
                    format!("{period_id}:retail:{}:{currency}", cust.id),
                ],
                None => vec![format!("{period_id}:direct:{}:{currency}", cust.id)],
            };
            for key in keys {
                unmade.entry(key).or_insert_with(|| why.clone());
            }
            continue;
        }
        match t.reseller_id.and_then(|r| resellers.get(&r)) {
            Some(r) => {
                let discount = fixed(r.wholesale_discount_units, r.wholesale_discount_nanos);
                let wholesale = rating::rate(
                    &t.slug,
                    (start, end),
                    &spans,
                    &Layer::Wholesale { discount },
                    minor,
                );
                let key = format!("{period_id}:wholesale:{}:{currency}", r.id);
                out.entry(key.clone())
                    .or_insert_with(|| Draft {
                        close_key: key,
                        layer: InvoiceLayer::Wholesale,
                        world: Some(r.id),
                        issuer_reseller_id: None,
                        recipient_reseller_id: Some(r.id),
                        recipient_customer_id: None,
                        currency: currency.clone(),
                        issuer_name: COOP_NAME.into(),
                        recipient_name: r.brand_name.clone(),
                        recipient_email: r
                            .billing_email
                            .clone()
                            .or_else(|| member_emails.get(&r.member_id).cloned()),
                        tax_rate: fixed(r.tax_rate_units, r.tax_rate_nanos),
                        reverse_charge: r.reverse_charge,
                        lines: Vec::new(),
                    })
                    .lines
                    .extend(wholesale.into_iter().map(|l| (t.id, l)));
                let (markup, explicit, version) =
                    price_lists.get(&r.id).cloned().unwrap_or_default();
                let layer = Layer::Retail {
                    discount,
                    markup,
                    explicit,
                    version,
                };
                let retail = rating::rate(&t.slug, (start, end), &spans, &layer, minor);
                let key = format!("{period_id}:retail:{}:{currency}", cust.id);
                out.entry(key.clone())
                    .or_insert_with(|| customer_draft(key, InvoiceLayer::Retail, Some(r), cust))
                    .lines
                    .extend(retail.into_iter().map(|l| (t.id, l)));
            }
            None => {
                let lines = rating::rate(&t.slug, (start, end), &spans, &Layer::List, minor);
                let key = format!("{period_id}:direct:{}:{currency}", cust.id);
                out.entry(key.clone())
                    .or_insert_with(|| customer_draft(key, InvoiceLayer::Direct, None, cust))
                    .lines
                    .extend(lines.into_iter().map(|l| (t.id, l)));
            }
        }
    }
    let made = out
        .into_values()
        .filter(|d| !d.lines.is_empty() && !unmade.contains_key(&d.close_key))
        .collect();
    Ok((made, unmade.into_iter().collect()))
}

/// What rating reads besides usage.
struct Terms {
    plans: HashMap<PlanId, PlanTerms>,
    history: HashMap<TenantId, Vec<(DateTime<Utc>, PlanId)>>,
    customers: HashMap<CustomerId, customer::Model>,
    resellers: HashMap<ResellerId, reseller::Model>,
    member_emails: HashMap<MemberId, String>,
    price_lists: HashMap<ResellerId, PriceList>,
}

async fn terms(db: &impl ConnectionTrait) -> Result<Terms> {
    Ok(Terms {
        plans: plan_terms(db).await?,
        history: plan_history(db).await?,
        customers: customer::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect(),
        resellers: reseller::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect(),
        member_emails: member_emails(db).await?,
        price_lists: price_lists(db).await?,
    })
}

pub(super) fn customer_draft(
    key: String,
    layer: InvoiceLayer,
    issuer: Option<&reseller::Model>,
    c: &customer::Model,
) -> Draft {
    Draft {
        close_key: key,
        layer,
        world: issuer.map(|r| r.id),
        issuer_reseller_id: issuer.map(|r| r.id),
        recipient_reseller_id: None,
        recipient_customer_id: Some(c.id),
        currency: c.currency.clone(),
        issuer_name: issuer.map_or_else(|| COOP_NAME.to_owned(), |r| r.brand_name.clone()),
        recipient_name: c.name.clone(),
        recipient_email: Some(c.billing_email.clone()),
        tax_rate: fixed(c.tax_rate_units, c.tax_rate_nanos),
        reverse_charge: c.reverse_charge,
        lines: Vec::new(),
    }
}

/// The plan a tenant held over `[from, to)`, as `(plan, from, to)` spans:
/// from its plan history, or its current plan when it has none.
pub(super) fn segments(
    history: Option<&Vec<(DateTime<Utc>, PlanId)>>,
    current: Option<PlanId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(PlanId, DateTime<Utc>, DateTime<Utc>)> {
    if from >= to {
        return Vec::new();
    }
    let Some(h) = history.filter(|h| !h.is_empty()) else {
        return current.map(|p| vec![(p, from, to)]).unwrap_or_default();
    };
    let mut out: Vec<(PlanId, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let h: Vec<&(DateTime<Utc>, PlanId)> = h.iter().filter(|(at, _)| *at < to).collect();
    for (i, (at, plan)) in h.iter().copied().enumerate() {
        let next = h.get(i + 1).map_or(to, |(n, _)| *n);
        // Before its first recorded change the tenant held its first plan.
        let s = if i == 0 { from } else { (*at).max(from) };
        let e = next.min(to);
        if s < e {
            match out.last_mut() {
                Some(last) if last.0 == *plan && last.2 == s => last.2 = e,
                _ => out.push((*plan, s, e)),
            }
        }
    }
    out
}

/// Every tenant's plan history (including changes after the period: a
/// tenant with history is billed from it, never from its current plan).
pub(super) async fn plan_history(
    db: &impl ConnectionTrait,
) -> Result<HashMap<TenantId, Vec<(DateTime<Utc>, PlanId)>>> {
    let mut out: HashMap<TenantId, Vec<(DateTime<Utc>, PlanId)>> = HashMap::new();
    use crate::entity::tenant_plan;
    use sea_orm::QueryOrder;
    for r in tenant_plan::Entity::find()
        .order_by_asc(tenant_plan::Column::TenantId)
        .order_by_asc(tenant_plan::Column::StartsAt)
        .order_by_asc(tenant_plan::Column::Id)
        .all(db)
        .await?
    {
        out.entry(r.tenant_id)
            .or_default()
            .push((r.starts_at, r.plan_id));
    }
    Ok(out)
}

pub(super) async fn plan_terms(db: &impl ConnectionTrait) -> Result<HashMap<PlanId, PlanTerms>> {
    let metrics: HashMap<BillableMetricId, (String, String)> =
        crate::entity::billable_metric::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id, (m.code, m.name)))
            .collect();
    let charges = crate::entity::plan_charge::Entity::find().all(db).await?;
    let mut out = HashMap::new();
    for p in plan::Entity::find().all(db).await? {
        let mine: Vec<_> = charges.iter().filter(|c| c.plan_id == p.id).collect();
        let mut list = Vec::new();
        for c in &mine {
            let Some((code, name)) = metrics.get(&c.metric_id) else {
                continue;
            };
            let Ok(charge) = serde_json::from_str::<Charge>(&c.properties) else {
                tracing::error!(plan = %p.code, metric = %code, "a stored charge does not parse; left out");
                continue;
            };
            list.push(MeteredCharge {
                metric: code.clone(),
                metric_name: name.clone(),
                charge,
            });
        }
        list.sort_by(|a, b| a.metric.cmp(&b.metric));
        out.insert(
            p.id,
            PlanTerms {
                id: p.id,
                code: p.code.clone(),
                name: p.name.clone(),
                currency: p.currency.clone(),
                base_fee: fixed(p.base_fee_units, p.base_fee_nanos),
                interval: p.billing_interval.clone(),
                charges: list,
                version: mine.iter().map(|c| c.price_version).max().unwrap_or(1),
            },
        );
    }
    Ok(out)
}

pub(super) async fn member_emails(db: &impl ConnectionTrait) -> Result<HashMap<MemberId, String>> {
    let mut out = HashMap::new();
    for r in db
        .query_all_raw(stmt(db, "SELECT id, email FROM members", vec![]))
        .await?
    {
        if let Ok(Some(e)) = r.try_get::<Option<String>>("", "email") {
            out.insert(r.try_get("", "id")?, e);
        }
    }
    Ok(out)
}

pub(super) async fn price_lists(
    db: &impl ConnectionTrait,
) -> Result<HashMap<ResellerId, PriceList>> {
    let mut out: HashMap<ResellerId, PriceList> = HashMap::new();
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT reseller_id, markup_units, markup_nanos, version FROM price_lists",
            vec![],
        ))
        .await?
    {
        let units: Option<i64> = r.try_get("", "markup_units")?;
        let nanos: Option<i64> = r.try_get("", "markup_nanos")?;
        let markup = units.zip(nanos).map(|(u, n)| fixed(u, n));
        out.insert(
            r.try_get("", "reseller_id")?,
            (markup, HashMap::new(), r.try_get("", "version")?),
        );
    }
    for r in db
        .query_all_raw(stmt(
            db,
            "SELECT reseller_id, plan_id, retail_price_units, retail_price_nanos FROM price_list_items WHERE plan_id IS NOT NULL",
            vec![],
        ))
        .await?
    {
        let reseller: ResellerId = r.try_get("", "reseller_id")?;
        if let Some(entry) = out.get_mut(&reseller) {
            entry.1.insert(
                r.try_get("", "plan_id")?,
                fixed(
                    r.try_get("", "retail_price_units")?,
                    r.try_get("", "retail_price_nanos")?,
                ),
            );
        }
    }
    Ok(out)
}
