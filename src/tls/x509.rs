//! The few facts skyhold reads from an X.509 certificate (RFC 5280): its validity period, the DNS
//! names it covers, its serial number and its authority key identifier (the two halves of an ACME
//! Renewal Information certificate identifier, RFC 9773 §4.1).
//!
//! Nothing here verifies a certificate: they come from our own ACME CA or from the operator, and
//! clients do the verifying.

use x509_cert::Certificate;
use x509_cert::der::Decode;
use x509_cert::der::oid::AssociatedOid;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectAltName};

/// What a leaf certificate says about itself.
#[derive(Clone, Debug)]
pub struct CertFacts {
    /// Seconds since the Unix epoch.
    pub not_before: i64,
    /// Seconds since the Unix epoch.
    pub not_after: i64,
    /// Lowercased `dNSName` entries of the subject alternative name extension.
    pub dns_names: Vec<String>,
    /// The serial number's content octets, as RFC 9773 encodes them.
    pub serial: Vec<u8>,
    /// The `keyIdentifier` of the authority key identifier extension, when present.
    pub authority_key_id: Option<Vec<u8>>,
}

impl CertFacts {
    /// Reads the facts from a DER certificate.
    pub fn parse(der: &[u8]) -> Result<CertFacts, String> {
        let cert =
            Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let tbs = &cert.tbs_certificate;
        let secs = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let mut dns_names = Vec::new();
        let mut authority_key_id = None;
        for ext in tbs.extensions.iter().flatten() {
            if ext.extn_id == SubjectAltName::OID {
                let san = SubjectAltName::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| format!("bad subjectAltName: {e}"))?;
                for name in san.0 {
                    if let GeneralName::DnsName(dns) = name {
                        dns_names.push(dns.as_str().to_ascii_lowercase());
                    }
                }
            } else if ext.extn_id == AuthorityKeyIdentifier::OID {
                let aki = AuthorityKeyIdentifier::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| format!("bad authorityKeyIdentifier: {e}"))?;
                authority_key_id = aki.key_identifier.map(|k| k.as_bytes().to_vec());
            }
        }
        Ok(CertFacts {
            not_before: secs(tbs.validity.not_before),
            not_after: secs(tbs.validity.not_after),
            dns_names,
            serial: tbs.serial_number.as_bytes().to_vec(),
            authority_key_id,
        })
    }

    /// The serial number in lower-case hex, as people and logs show it.
    pub fn serial_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.serial)
    }

    /// The instant two thirds into the validity period: when to renew if the CA offers no
    /// renewal information (Let's Encrypt's own advice for 90-day certificates is 30 days before
    /// expiry, which is the same point).
    pub fn two_thirds_point(&self) -> i64 {
        let lifetime = (self.not_after - self.not_before).max(0);
        self.not_before + lifetime / 3 * 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_validity_names_serial_and_key_id() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["node.test".into(), "*.node.test".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2030, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 4, 1);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x01, 0x02, 0x03]));
        params.use_authority_key_identifier_extension = true;
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(vec![7; 20]);
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();

        let facts = CertFacts::parse(cert.der()).unwrap();
        assert_eq!(facts.not_before, 1_893_456_000);
        assert_eq!(facts.not_after, 1_901_232_000);
        assert_eq!(facts.dns_names, vec!["node.test", "*.node.test"]);
        assert_eq!(facts.serial_hex(), "010203");
        assert_eq!(facts.authority_key_id, Some(vec![7; 20]));
        assert_eq!(
            facts.two_thirds_point(),
            1_893_456_000 + (1_901_232_000 - 1_893_456_000) / 3 * 2
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(CertFacts::parse(b"not a certificate").is_err());
        assert!(CertFacts::parse(&[]).is_err());
    }
}
