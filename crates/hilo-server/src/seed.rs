//! Realistic contacts in bulk, for demos and benchmarks (`hilo admin seed contacts`): names,
//! emails, phones, tags, addresses, sources, birthdays and creation dates spread over two years,
//! normalised exactly as the API stores them, written in large batches.

use hilo_types::contacts::{CreateContact, CreatedBy};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::api::contacts::{apply_contact_change, create_as_update, insert_contacts, ContactRow};
use crate::api::tags::insert_tags;
use crate::db::Db;
use crate::tenancy::{find_location, Location};
use crate::time::{format_ms, now_ms};

/// Contacts per statement: 32 parameters each keeps a statement within both engines' limits.
const BATCH: usize = 500;
/// Contacts per transaction.
const TRANSACTION: usize = 5_000;
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
    let mut rng = StdRng::seed_from_u64(seed);
    let run: u32 = rng.gen();
    let now = now_ms();
    let created_by = CreatedBy {
        source: "HILO_SEED".to_owned(),
        channel: "ADMIN".to_owned(),
        source_id: String::new(),
        timestamp: format_ms(now),
    };
    let mut written = 0u64;
    while written < count {
        let in_transaction = usize::try_from(count - written)
            .unwrap_or(usize::MAX)
            .min(TRANSACTION);
        let mut tx = db.write().begin().await?;
        let mut done = 0;
        while done < in_transaction {
            let size = (in_transaction - done).min(BATCH);
            let mut rows = Vec::with_capacity(size);
            let mut tags = Vec::with_capacity(size);
            for i in 0..size {
                let serial = written + u64::try_from(done + i).unwrap_or(0);
                let added = now - rng.gen_range(0..TWO_YEARS_MS);
                let updated = added + rng.gen_range(0..=(now - added));
                let mut row = ContactRow::new_row(&location, &created_by, added, updated);
                let change = create_as_update(generate(&mut rng, serial, run));
                let row_tags = apply_contact_change(db, &mut row, change, &location)
                    .await
                    .map_err(|e| anyhow::anyhow!("generated contact refused: {e}"))?
                    .unwrap_or_default();
                tags.push(row_tags);
                rows.push(row);
            }
            insert_contacts(&mut tx, &rows).await?;
            let tagged: Vec<(&str, &[String])> = rows
                .iter()
                .zip(&tags)
                .map(|(row, tags)| (row.id(), tags.as_slice()))
                .collect();
            insert_tags(&mut tx, &location.id, &tagged).await?;
            done += size;
        }
        tx.commit().await?;
        written += u64::try_from(in_transaction).unwrap_or(0);
        progress(written);
    }
    Ok(written)
}
