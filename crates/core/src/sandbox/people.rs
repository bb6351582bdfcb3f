//! The synthetic people every vendor sandbox seeds, so a cross-vendor demo migration
//! can match users by e-mail.

/// One synthetic person of the shared demo cast.
///
/// Everything is invented; e-mails are lowercase and live under `example.com`
/// (reserved for documentation by RFC 2606), so nothing here can reach a real inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DemoPerson {
    /// Given (first) name, as shown in a vendor UI. May hold non-ASCII letters.
    pub given: &'static str,
    /// Family (last) name. May hold an apostrophe or a hyphen.
    pub family: &'static str,
    /// Lowercase e-mail under `example.com`; the cross-vendor matching key.
    pub email: &'static str,
    /// A department name, handy for group and role seeds.
    pub department: &'static str,
}

impl DemoPerson {
    /// `"given family"`, the display name most vendors show.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given, self.family)
    }
}

/// How many of [`DEMO_PEOPLE`] are *core staff*: `DEMO_PEOPLE[..CORE_STAFF]`.
pub const CORE_STAFF: usize = 12;

/// The shared demo cast: 40 people, in a fixed order.
///
/// * `DEMO_PEOPLE[..CORE_STAFF]` (the first 12) are **core staff**: every vendor
///   sandbox seeds all of them as users, so a demo migration between any two vendors
///   matches them by e-mail.
/// * The remaining 28 are **extended staff**: each vendor seeds only a part of them, so
///   a migration also meets people who exist only on the source (they land in the
///   plan's skipped list or become invites) or only on the target. The suggested split,
///   which gives every pair of vendors some overlap and some difference, is
///   Visier `12..30`, Segment `18..36`, Pyramid `24..40`; each sandbox documents the
///   split it actually uses.
///
/// One address holds a `+` (`li.wei+ops@example.com`, index 3) so that percent-encoding
/// and query handling of e-mails get exercised; some names hold accents, an apostrophe
/// or a hyphen.
pub const DEMO_PEOPLE: &[DemoPerson] = &[
    // Core staff (0..12): seeded by every vendor.
    p("Ana", "Ruiz", "ana.ruiz@example.com", "Engineering"),
    p("Ben", "Okafor", "ben.okafor@example.com", "Engineering"),
    p("Chloé", "Martin", "chloe.martin@example.com", "Finance"),
    p("Li", "Wei", "li.wei+ops@example.com", "Operations"),
    p(
        "Dana",
        "Kowalski",
        "dana.kowalski@example.com",
        "Human Resources",
    ),
    p("Eitan", "Levi", "eitan.levi@example.com", "Sales"),
    p("Fatima", "Haddad", "fatima.haddad@example.com", "Finance"),
    p(
        "George",
        "Papadopoulos",
        "george.papadopoulos@example.com",
        "Sales",
    ),
    p("Hana", "Sato", "hana.sato@example.com", "Marketing"),
    p("Ivan", "Petrov", "ivan.petrov@example.com", "Engineering"),
    p("Julia", "Schmidt", "julia.schmidt@example.com", "Legal"),
    p("Kwame", "Mensah", "kwame.mensah@example.com", "Support"),
    // Extended staff (12..40): seeded by some vendors only.
    p("Laura", "Bianchi", "laura.bianchi@example.com", "Marketing"),
    p("Mateo", "Fernández", "mateo.fernandez@example.com", "Sales"),
    p("Nadia", "Rahman", "nadia.rahman@example.com", "Engineering"),
    p(
        "Oskar",
        "Lindqvist",
        "oskar.lindqvist@example.com",
        "Operations",
    ),
    p("Priya", "Nair", "priya.nair@example.com", "Finance"),
    p("Quentin", "Dubois", "quentin.dubois@example.com", "Legal"),
    p("Rosa", "Alvarez", "rosa.alvarez@example.com", "Support"),
    p("Seán", "O'Brien", "sean.obrien@example.com", "Engineering"),
    p(
        "Tomás",
        "Silva",
        "tomas.silva@example.com",
        "Human Resources",
    ),
    p("Uma", "Krishnan", "uma.krishnan@example.com", "Marketing"),
    p(
        "Viktor",
        "Horvath",
        "viktor.horvath@example.com",
        "Operations",
    ),
    p("Wanjiru", "Kamau", "wanjiru.kamau@example.com", "Sales"),
    p("Xavier", "Moreau", "xavier.moreau@example.com", "Finance"),
    p("Yara", "Costa", "yara.costa@example.com", "Support"),
    p("Zoe", "Mitchell", "zoe.mitchell@example.com", "Engineering"),
    p("Aiko", "Tanaka", "aiko.tanaka@example.com", "Marketing"),
    p("Bruno", "Keller", "bruno.keller@example.com", "Operations"),
    p(
        "Carmen",
        "Vega-Ortiz",
        "carmen.vega-ortiz@example.com",
        "Legal",
    ),
    p(
        "Dmitri",
        "Volkov",
        "dmitri.volkov@example.com",
        "Engineering",
    ),
    p(
        "Elif",
        "Yılmaz",
        "elif.yilmaz@example.com",
        "Human Resources",
    ),
    p("Femi", "Adeyemi", "femi.adeyemi@example.com", "Sales"),
    p("Greta", "Nilsen", "greta.nilsen@example.com", "Finance"),
    p("Hugo", "Lambert", "hugo.lambert@example.com", "Support"),
    p("Ines", "Carvalho", "ines.carvalho@example.com", "Marketing"),
    p("Jonas", "Weber", "jonas.weber@example.com", "Engineering"),
    p("Kaira", "Singh", "kaira.singh@example.com", "Operations"),
    p("Lucas", "Moreno", "lucas.moreno@example.com", "Sales"),
    p("Mei", "Chen", "mei.chen@example.com", "Finance"),
];

const fn p(
    given: &'static str,
    family: &'static str,
    email: &'static str,
    department: &'static str,
) -> DemoPerson {
    DemoPerson {
        given,
        family,
        email,
        department,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_is_well_formed() {
        assert_eq!(DEMO_PEOPLE.len(), 40);
        let mut seen = std::collections::HashSet::new();
        for person in DEMO_PEOPLE {
            assert!(person.email.ends_with("@example.com"), "{}", person.email);
            assert_eq!(person.email, person.email.to_lowercase());
            assert!(person.email.is_ascii());
            assert!(seen.insert(person.email), "duplicate {}", person.email);
        }
        assert!(
            DEMO_PEOPLE[..CORE_STAFF]
                .iter()
                .any(|p| p.email.contains('+'))
        );
    }
}
