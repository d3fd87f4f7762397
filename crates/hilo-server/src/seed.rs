//! Realistic contacts in bulk, for demos and benchmarks (`hilo admin seed contacts`): names,
//! emails, phones, tags, addresses, sources, birthdays, custom field values and creation dates
//! spread over two years, normalised exactly as the API stores them, written in large batches.
//! A thread generates the rows while the database writes the previous batch.

use hilo_types::contacts::{CreateContact, CreatedBy, CustomFieldValue};
use hilo_types::custom_fields::CreateCustomField;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::api::contacts::{apply_change, create_as_update, insert_contacts, ContactRow};
use crate::api::custom_fields::create_field;
use crate::api::tags::insert_tags;
use crate::db::Db;
use crate::tenancy::{find_location, Location};
use crate::time::{format_ms, now_ms};

/// Contacts per statement: 32 parameters each stays under SQLite's 32,766 and PostgreSQL's
/// 65,535 parameters a statement.
const BATCH: usize = 1_000;
/// Contacts per transaction: large enough that commits (an fsync each) do not dominate.
const TRANSACTION: usize = 20_000;
const TWO_YEARS_MS: i64 = 730 * 86_400_000;

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra",
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Dennis", "Ken", "Radia",
];
#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Lewis", "Robinson", "Walker", "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov",
];
const DOMAINS: &[&str] = &["example.com", "example.org", "mail.example", "corp.example"];
#[rustfmt::skip]
const TAGS: &[&str] = &[
    "lead", "customer", "vip", "newsletter", "booked call", "no show", "webinar", "trial",
    "churned", "referral", "partner", "cold", "warm", "hot", "facebook ad", "google ad",
    "event", "reactivated", "wholesale", "retail",
];
const CITIES: &[(&str, &str)] = &[
    ("New York", "NY"),
    ("Austin", "TX"),
    ("Chicago", "IL"),
    ("Denver", "CO"),
    ("Seattle", "WA"),
    ("Miami", "FL"),
    ("Boston", "MA"),
    ("Phoenix", "AZ"),
];
const SOURCES: &[&str] = &[
    "website", "facebook", "google", "referral", "import", "event",
];
const COMPANIES: &[&str] = &["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark"];

const PLANS: &[&str] = &["Free", "Pro", "Enterprise"];

/// The contact custom fields the seeder fills, found by key or created in the location.
struct SeedFields {
    lead_score: String,
    plan: String,
    renewal_date: String,
}

impl SeedFields {
    async fn find_or_create(db: &Db, location_id: &str) -> anyhow::Result<SeedFields> {
        Ok(SeedFields {
            lead_score: field_id(db, location_id, "Lead score", "NUMERICAL", &[]).await?,
            plan: field_id(db, location_id, "Plan", "SINGLE_OPTIONS", PLANS).await?,
            renewal_date: field_id(db, location_id, "Renewal date", "DATE", &[]).await?,
        })
    }

    /// Stored values for some of the fields, as the API stores them.
    fn values(&self, rng: &mut StdRng) -> Vec<CustomFieldValue> {
        let mut values = Vec::new();
        if rng.gen_range(0..100) < 70 {
            values.push(CustomFieldValue {
                id: self.lead_score.clone(),
                value: Value::from(rng.gen_range(0..=100)),
            });
        }
        if rng.gen_range(0..100) < 50 {
            values.push(CustomFieldValue {
                id: self.plan.clone(),
                value: Value::from(PLANS[rng.gen_range(0..PLANS.len())]),
            });
        }
        if rng.gen_range(0..100) < 40 {
            values.push(CustomFieldValue {
                id: self.renewal_date.clone(),
                value: Value::from(format!(
                    "{}-{:02}-{:02}",
                    rng.gen_range(2025..2029),
                    rng.gen_range(1..=12),
                    rng.gen_range(1..=28)
                )),
            });
        }
        values
    }
}

/// One generated contact, as the API's create body.
fn generate(rng: &mut StdRng, serial: u64, run: u32) -> CreateContact {
    let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
    let domain = DOMAINS[rng.gen_range(0..DOMAINS.len())];
    let chance = |rng: &mut StdRng, percent: u32| rng.gen_range(0..100) < percent;
    let city = CITIES[rng.gen_range(0..CITIES.len())];
    let tag_count = rng.gen_range(0..=3);
    let mut tags: Vec<String> = (0..tag_count)
        .map(|_| TAGS[rng.gen_range(0..TAGS.len())].to_owned())
        .collect();
    tags.dedup();
    let has_phone = chance(rng, 80);
    let has_address = chance(rng, 70);
    CreateContact {
        first_name: Some(first.to_owned()),
        last_name: Some(last.to_owned()),
        // The run and serial keep emails unique across several seedings of one location.
        email: Some(format!(
            "{}.{}.{run:x}{serial}@{domain}",
            first.to_lowercase(),
            last.to_lowercase()
        )),
        phone: has_phone.then(|| {
            format!(
                "+1{}{:03}{:04}",
                rng.gen_range(201..990),
                rng.gen_range(200..1000),
                rng.gen_range(0..10_000)
            )
        }),
        city: has_address.then(|| city.0.to_owned()),
        state: has_address.then(|| city.1.to_owned()),
        address1: has_address.then(|| format!("{} Main St", rng.gen_range(1..9999))),
        postal_code: has_address.then(|| format!("{:05}", rng.gen_range(10_000..99_999))),
        source: chance(rng, 60).then(|| SOURCES[rng.gen_range(0..SOURCES.len())].to_owned()),
        company_name: chance(rng, 30)
            .then(|| COMPANIES[rng.gen_range(0..COMPANIES.len())].to_owned()),
        date_of_birth: chance(rng, 40).then(|| {
            format!(
                "{}-{:02}-{:02}",
                rng.gen_range(1945..2006),
                rng.gen_range(1..=12),
                rng.gen_range(1..=28)
            )
        }),
        dnd: Some(chance(rng, 5)),
        tags: Some(tags),
        ..CreateContact::default()
    }
}

/// The id of the location's contact field `name` (keyed from the name), created if missing.
async fn field_id(
    db: &Db,
    location_id: &str,
    name: &str,
    data_type: &str,
    options: &[&str],
) -> anyhow::Result<String> {
    let key = format!("contact.{}", crate::custom_fields::slug(name));
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT id FROM custom_fields WHERE location_id = $1 AND field_key = $2",
    )
    .bind(location_id)
    .bind(&key)
    .fetch_optional(db.read())
    .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let body = CreateCustomField {
        name: name.to_owned(),
        data_type: data_type.to_owned(),
        field_key: Some(key),
        options: (!options.is_empty()).then(|| options.iter().map(|s| (*s).to_owned()).collect()),
        ..CreateCustomField::default()
    };
    let field = create_field(db, location_id.to_owned(), body)
        .await
        .map_err(|e| anyhow::anyhow!("seed custom field refused: {e}"))?;
    Ok(field.id)
}

/// One batch of rows, with each row's tags.
type Batch = Vec<(ContactRow, Vec<String>)>;

/// What the generator thread needs to make rows.
struct Generator {
    rng: StdRng,
    run: u32,
    now: i64,
    location: Location,
    created_by: CreatedBy,
    fields: SeedFields,
}

impl Generator {
    fn batch(&mut self, first_serial: u64, size: usize) -> anyhow::Result<Batch> {
        let mut batch = Vec::with_capacity(size);
        for serial in first_serial..first_serial + size as u64 {
            let rng = &mut self.rng;
            let added = self.now - rng.gen_range(0..TWO_YEARS_MS);
            let updated = added + rng.gen_range(0..=(self.now - added));
            let mut row = ContactRow::new_row(&self.location, &self.created_by, added, updated);
            let change = create_as_update(generate(rng, serial, self.run));
            let values = self.fields.values(rng);
            let tags = apply_change(&mut row, change, &self.location, Ok(Some(values)))
                .map_err(|e| anyhow::anyhow!("generated contact refused: {e}"))?
                .unwrap_or_default();
            batch.push((row, tags));
        }
        Ok(batch)
    }
}

/// Adds `count` generated contacts to the location; `progress` hears how many are written so far.
/// The same `seed` generates the same contacts (but new ids).
pub async fn seed_contacts(
    db: &Db,
    location_id: &str,
    count: u64,
    seed: u64,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<u64> {
    let location: Location = find_location(db, location_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no location with id {location_id}"))?;
    let fields = SeedFields::find_or_create(db, &location.id).await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let run: u32 = rng.gen();
    let now = now_ms();
    let created_by = CreatedBy {
        source: "HILO_SEED".to_owned(),
        channel: "ADMIN".to_owned(),
        source_id: String::new(),
        timestamp: format_ms(now),
    };
    let mut generator = Generator {
        rng,
        run,
        now,
        location: location.clone(),
        created_by,
        fields,
    };
    // Two batches in flight keep both cores busy: one generating, one writing.
    let (sender, mut batches) = mpsc::channel::<anyhow::Result<Batch>>(2);
    let producer = std::thread::spawn(move || {
        let mut serial = 0u64;
        while serial < count {
            let size = usize::try_from(count - serial).map_or(BATCH, |left| left.min(BATCH));
            let batch = generator.batch(serial, size);
            let failed = batch.is_err();
            if sender.blocking_send(batch).is_err() || failed {
                return;
            }
            serial += size as u64;
        }
    });

    let mut written = 0u64;
    let mut tx = db.write().begin().await?;
    let mut in_transaction = 0;
    while let Some(batch) = batches.recv().await {
        let (rows, tags): (Vec<ContactRow>, Vec<Vec<String>>) = batch?.into_iter().unzip();
        insert_contacts(&mut tx, &rows).await?;
        let tagged: Vec<(&str, &[String])> = rows
            .iter()
            .zip(&tags)
            .map(|(row, tags)| (row.id(), tags.as_slice()))
            .collect();
        insert_tags(&mut tx, &location.id, &tagged).await?;
        written += rows.len() as u64;
        in_transaction += rows.len();
        if in_transaction >= TRANSACTION {
            tx.commit().await?;
            progress(written);
            tx = db.write().begin().await?;
            in_transaction = 0;
        }
    }
    tx.commit().await?;
    progress(written);
    producer
        .join()
        .map_err(|_| anyhow::anyhow!("the contact generator panicked"))?;
    db.analyze().await?;
    Ok(written)
}
