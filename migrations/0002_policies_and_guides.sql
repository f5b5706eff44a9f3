-- 0002_policies_and_guides.sql
--
-- Workstream schema, part 2 of 5: compensation configuration (ISO 4217 codes, units, adapter
-- bindings), contribution policies and their published versions, rules and award definitions
-- (docs/lifecycle.md, "Contribution policy and version"), the checker component registry
-- (docs/checkers.md, "The registry and publication") and guide versions carrying one immutable
-- policy bundle (docs/architecture.md, "One policy bundle per guide").
--
-- Error codes (WS001 immutable, WS002 transition, 23514 named cross-row checks): see 0001's header.

-- ---------------------------------------------------------------------------------------
-- ISO 4217 currency codes (money codes come from the ISO 4217 registry: docs/glossary.md, "Unit")
-- ---------------------------------------------------------------------------------------

-- Seeded from ISO 4217 List One as in force in 2025 (Debian iso-codes data, minus codes
-- withdrawn since: HRK, ZWL, ANG, SLL; plus their replacements XCG and ZWG). minor_unit is
-- null where ISO says N.A. (funds, metals, testing codes). Changing the list is a new
-- migration; codes are never deleted while units refer to them.
CREATE TABLE iso_4217_currency_codes (
    code         text PRIMARY KEY,
    numeric_code text NOT NULL,
    minor_unit   smallint,
    name         text NOT NULL,
    CONSTRAINT iso_4217_currency_codes_code_format CHECK (code ~ '^[A-Z]{3}$'),
    CONSTRAINT iso_4217_currency_codes_numeric_format CHECK (numeric_code ~ '^[0-9]{3}$'),
    CONSTRAINT iso_4217_currency_codes_minor_unit_range CHECK (minor_unit BETWEEN 0 AND 4),
    CONSTRAINT iso_4217_currency_codes_name_length CHECK (char_length(name) BETWEEN 1 AND 200)
);

INSERT INTO iso_4217_currency_codes (code, numeric_code, minor_unit, name) VALUES
    ('AED', '784', 2, 'UAE Dirham'),
    ('AFN', '971', 2, 'Afghani'),
    ('ALL', '008', 2, 'Lek'),
    ('AMD', '051', 2, 'Armenian Dram'),
    ('AOA', '973', 2, 'Kwanza'),
    ('ARS', '032', 2, 'Argentine Peso'),
    ('AUD', '036', 2, 'Australian Dollar'),
    ('AWG', '533', 2, 'Aruban Florin'),
    ('AZN', '944', 2, 'Azerbaijan Manat'),
    ('BAM', '977', 2, 'Convertible Mark'),
    ('BBD', '052', 2, 'Barbados Dollar'),
    ('BDT', '050', 2, 'Taka'),
    ('BGN', '975', 2, 'Bulgarian Lev'),
    ('BHD', '048', 3, 'Bahraini Dinar'),
    ('BIF', '108', 0, 'Burundi Franc'),
    ('BMD', '060', 2, 'Bermudian Dollar'),
    ('BND', '096', 2, 'Brunei Dollar'),
    ('BOB', '068', 2, 'Boliviano'),
    ('BOV', '984', 2, 'Mvdol'),
    ('BRL', '986', 2, 'Brazilian Real'),
    ('BSD', '044', 2, 'Bahamian Dollar'),
    ('BTN', '064', 2, 'Ngultrum'),
    ('BWP', '072', 2, 'Pula'),
    ('BYN', '933', 2, 'Belarusian Ruble'),
    ('BZD', '084', 2, 'Belize Dollar'),
    ('CAD', '124', 2, 'Canadian Dollar'),
    ('CDF', '976', 2, 'Congolese Franc'),
    ('CHE', '947', 2, 'WIR Euro'),
    ('CHF', '756', 2, 'Swiss Franc'),
    ('CHW', '948', 2, 'WIR Franc'),
    ('CLF', '990', 4, 'Unidad de Fomento'),
    ('CLP', '152', 0, 'Chilean Peso'),
    ('CNY', '156', 2, 'Yuan Renminbi'),
    ('COP', '170', 2, 'Colombian Peso'),
    ('COU', '970', 2, 'Unidad de Valor Real'),
    ('CRC', '188', 2, 'Costa Rican Colon'),
    ('CUC', '931', 2, 'Peso Convertible'),
    ('CUP', '192', 2, 'Cuban Peso'),
    ('CVE', '132', 2, 'Cabo Verde Escudo'),
    ('CZK', '203', 2, 'Czech Koruna'),
    ('DJF', '262', 0, 'Djibouti Franc'),
    ('DKK', '208', 2, 'Danish Krone'),
    ('DOP', '214', 2, 'Dominican Peso'),
    ('DZD', '012', 2, 'Algerian Dinar'),
    ('EGP', '818', 2, 'Egyptian Pound'),
    ('ERN', '232', 2, 'Nakfa'),
    ('ETB', '230', 2, 'Ethiopian Birr'),
    ('EUR', '978', 2, 'Euro'),
    ('FJD', '242', 2, 'Fiji Dollar'),
    ('FKP', '238', 2, 'Falkland Islands Pound'),
    ('GBP', '826', 2, 'Pound Sterling'),
    ('GEL', '981', 2, 'Lari'),
    ('GHS', '936', 2, 'Ghana Cedi'),
    ('GIP', '292', 2, 'Gibraltar Pound'),
    ('GMD', '270', 2, 'Dalasi'),
    ('GNF', '324', 0, 'Guinean Franc'),
    ('GTQ', '320', 2, 'Quetzal'),
    ('GYD', '328', 2, 'Guyana Dollar'),
    ('HKD', '344', 2, 'Hong Kong Dollar'),
    ('HNL', '340', 2, 'Lempira'),
    ('HTG', '332', 2, 'Gourde'),
    ('HUF', '348', 2, 'Forint'),
    ('IDR', '360', 2, 'Rupiah'),
    ('ILS', '376', 2, 'New Israeli Sheqel'),
    ('INR', '356', 2, 'Indian Rupee'),
    ('IQD', '368', 3, 'Iraqi Dinar'),
    ('IRR', '364', 2, 'Iranian Rial'),
    ('ISK', '352', 0, 'Iceland Krona'),
    ('JMD', '388', 2, 'Jamaican Dollar'),
    ('JOD', '400', 3, 'Jordanian Dinar'),
    ('JPY', '392', 0, 'Yen'),
    ('KES', '404', 2, 'Kenyan Shilling'),
    ('KGS', '417', 2, 'Som'),
    ('KHR', '116', 2, 'Riel'),
    ('KMF', '174', 0, 'Comorian Franc'),
    ('KPW', '408', 2, 'North Korean Won'),
    ('KRW', '410', 0, 'Won'),
    ('KWD', '414', 3, 'Kuwaiti Dinar'),
    ('KYD', '136', 2, 'Cayman Islands Dollar'),
    ('KZT', '398', 2, 'Tenge'),
    ('LAK', '418', 2, 'Lao Kip'),
    ('LBP', '422', 2, 'Lebanese Pound'),
    ('LKR', '144', 2, 'Sri Lanka Rupee'),
    ('LRD', '430', 2, 'Liberian Dollar'),
    ('LSL', '426', 2, 'Loti'),
    ('LYD', '434', 3, 'Libyan Dinar'),
    ('MAD', '504', 2, 'Moroccan Dirham'),
    ('MDL', '498', 2, 'Moldovan Leu'),
    ('MGA', '969', 2, 'Malagasy Ariary'),
    ('MKD', '807', 2, 'Denar'),
    ('MMK', '104', 2, 'Kyat'),
    ('MNT', '496', 2, 'Tugrik'),
    ('MOP', '446', 2, 'Pataca'),
    ('MRU', '929', 2, 'Ouguiya'),
    ('MUR', '480', 2, 'Mauritius Rupee'),
    ('MVR', '462', 2, 'Rufiyaa'),
    ('MWK', '454', 2, 'Malawi Kwacha'),
    ('MXN', '484', 2, 'Mexican Peso'),
    ('MXV', '979', 2, 'Mexican Unidad de Inversion (UDI)'),
    ('MYR', '458', 2, 'Malaysian Ringgit'),
    ('MZN', '943', 2, 'Mozambique Metical'),
    ('NAD', '516', 2, 'Namibia Dollar'),
    ('NGN', '566', 2, 'Naira'),
    ('NIO', '558', 2, 'Cordoba Oro'),
    ('NOK', '578', 2, 'Norwegian Krone'),
    ('NPR', '524', 2, 'Nepalese Rupee'),
    ('NZD', '554', 2, 'New Zealand Dollar'),
    ('OMR', '512', 3, 'Rial Omani'),
    ('PAB', '590', 2, 'Balboa'),
    ('PEN', '604', 2, 'Sol'),
    ('PGK', '598', 2, 'Kina'),
    ('PHP', '608', 2, 'Philippine Peso'),
    ('PKR', '586', 2, 'Pakistan Rupee'),
    ('PLN', '985', 2, 'Zloty'),
    ('PYG', '600', 0, 'Guarani'),
    ('QAR', '634', 2, 'Qatari Rial'),
    ('RON', '946', 2, 'Romanian Leu'),
    ('RSD', '941', 2, 'Serbian Dinar'),
    ('RUB', '643', 2, 'Russian Ruble'),
    ('RWF', '646', 0, 'Rwanda Franc'),
    ('SAR', '682', 2, 'Saudi Riyal'),
    ('SBD', '090', 2, 'Solomon Islands Dollar'),
    ('SCR', '690', 2, 'Seychelles Rupee'),
    ('SDG', '938', 2, 'Sudanese Pound'),
    ('SEK', '752', 2, 'Swedish Krona'),
    ('SGD', '702', 2, 'Singapore Dollar'),
    ('SHP', '654', 2, 'Saint Helena Pound'),
    ('SLE', '925', 2, 'Leone'),
    ('SOS', '706', 2, 'Somali Shilling'),
    ('SRD', '968', 2, 'Surinam Dollar'),
    ('SSP', '728', 2, 'South Sudanese Pound'),
    ('STN', '930', 2, 'Dobra'),
    ('SVC', '222', 2, 'El Salvador Colon'),
    ('SYP', '760', 2, 'Syrian Pound'),
    ('SZL', '748', 2, 'Lilangeni'),
    ('THB', '764', 2, 'Baht'),
    ('TJS', '972', 2, 'Somoni'),
    ('TMT', '934', 2, 'Turkmenistan New Manat'),
    ('TND', '788', 3, 'Tunisian Dinar'),
    ('TOP', '776', 2, 'Pa’anga'),
    ('TRY', '949', 2, 'Turkish Lira'),
    ('TTD', '780', 2, 'Trinidad and Tobago Dollar'),
    ('TWD', '901', 2, 'New Taiwan Dollar'),
    ('TZS', '834', 2, 'Tanzanian Shilling'),
    ('UAH', '980', 2, 'Hryvnia'),
    ('UGX', '800', 0, 'Uganda Shilling'),
    ('USD', '840', 2, 'US Dollar'),
    ('USN', '997', 2, 'US Dollar (Next day)'),
    ('UYI', '940', 0, 'Uruguay Peso en Unidades Indexadas (UI)'),
    ('UYU', '858', 2, 'Peso Uruguayo'),
    ('UYW', '927', 4, 'Unidad Previsional'),
    ('UZS', '860', 2, 'Uzbekistan Sum'),
    ('VED', '926', 2, 'Bolívar Soberano'),
    ('VES', '928', 2, 'Bolívar Soberano'),
    ('VND', '704', 0, 'Dong'),
    ('VUV', '548', 0, 'Vatu'),
    ('WST', '882', 2, 'Tala'),
    ('XAF', '950', 0, 'CFA Franc BEAC'),
    ('XAG', '961', NULL, 'Silver'),
    ('XAU', '959', NULL, 'Gold'),
    ('XBA', '955', NULL, 'Bond Markets Unit European Composite Unit (EURCO)'),
    ('XBB', '956', NULL, 'Bond Markets Unit European Monetary Unit (E.M.U.-6)'),
    ('XBC', '957', NULL, 'Bond Markets Unit European Unit of Account 9 (E.U.A.-9)'),
    ('XBD', '958', NULL, 'Bond Markets Unit European Unit of Account 17 (E.U.A.-17)'),
    ('XCD', '951', 2, 'East Caribbean Dollar'),
    ('XCG', '532', 2, 'Caribbean Guilder'),
    ('XDR', '960', NULL, 'SDR (Special Drawing Right)'),
    ('XOF', '952', 0, 'CFA Franc BCEAO'),
    ('XPD', '964', NULL, 'Palladium'),
    ('XPF', '953', 0, 'CFP Franc'),
    ('XPT', '962', NULL, 'Platinum'),
    ('XSU', '994', NULL, 'Sucre'),
    ('XTS', '963', NULL, 'Codes specifically reserved for testing purposes'),
    ('XUA', '965', NULL, 'ADB Unit of Account'),
    ('XXX', '999', NULL, 'The codes assigned for transactions where no currency is involved'),
    ('YER', '886', 2, 'Yemeni Rial'),
    ('ZAR', '710', 2, 'Rand'),
    ('ZMW', '967', 2, 'Zambian Kwacha'),
    ('ZWG', '924', 2, 'Zimbabwe Gold');

-- ---------------------------------------------------------------------------------------
-- Compensation units and adapter bindings (docs/glossary.md, "Adapter binding")
-- ---------------------------------------------------------------------------------------

-- The units a project may pay in. Identity is (project, instrument, unit_code). Money units
-- are ISO 4217 codes (FK); points units are project-scoped names and carry no ISO code.
CREATE TABLE project_compensation_units (
    id                uuid PRIMARY KEY,
    project_id        uuid NOT NULL REFERENCES projects (id),
    instrument_type   text NOT NULL,
    unit_code         text NOT NULL,
    iso_currency_code text REFERENCES iso_4217_currency_codes (code),
    status            text NOT NULL DEFAULT 'active',
    created_by        uuid NOT NULL REFERENCES actor_profiles (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    retired_at        timestamptz,
    CONSTRAINT project_compensation_units_instrument_valid
        CHECK (instrument_type IN ('money', 'project_points')),
    CONSTRAINT project_compensation_units_unit_code_format
        CHECK (unit_code ~ '^[A-Za-z][A-Za-z0-9_.-]{0,39}$'),
    -- Money: unit_code IS the ISO code. Points: no ISO code at all.
    CONSTRAINT project_compensation_units_money_is_iso CHECK (
        (instrument_type = 'money' AND iso_currency_code IS NOT NULL AND iso_currency_code = unit_code)
        OR (instrument_type = 'project_points' AND iso_currency_code IS NULL)),
    CONSTRAINT project_compensation_units_status_valid CHECK (status IN ('active', 'retired')),
    CONSTRAINT project_compensation_units_retired_shape CHECK ((status = 'retired') = (retired_at IS NOT NULL)),
    CONSTRAINT project_compensation_units_identity_key UNIQUE (project_id, instrument_type, unit_code)
);

CREATE TRIGGER project_compensation_units_touch_updated_at BEFORE UPDATE ON project_compensation_units
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- Which service actor (adapter) delivers a project's awards of one instrument, addressed by
-- a route key. No secrets, endpoints or credentials are stored. At most one active binding
-- per (project, instrument); every lifecycle change bumps binding_lifecycle_version. The
-- adapter must be a service actor (trigger; R43: no human role substitutes).
CREATE TABLE project_compensation_adapter_bindings (
    id                        uuid PRIMARY KEY,
    project_id                uuid NOT NULL REFERENCES projects (id),
    instrument_type           text NOT NULL,
    adapter_actor_id          uuid NOT NULL REFERENCES actor_profiles (id),
    route_key                 text NOT NULL,
    status                    text NOT NULL DEFAULT 'active',
    binding_lifecycle_version integer NOT NULL DEFAULT 1,
    created_by                uuid NOT NULL REFERENCES actor_profiles (id),
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_compensation_adapter_bindings_instrument_valid
        CHECK (instrument_type IN ('money', 'project_points')),
    CONSTRAINT project_compensation_adapter_bindings_route_key_format
        CHECK (route_key ~ '^[A-Za-z][A-Za-z0-9._:-]{0,119}$' AND position('..' IN route_key) = 0),
    CONSTRAINT project_compensation_adapter_bindings_status_valid
        CHECK (status IN ('active', 'suspended', 'retired')),
    CONSTRAINT project_compensation_adapter_bindings_version_positive CHECK (binding_lifecycle_version >= 1),
    -- Target of composite FKs from definitions and awards: binding, project and instrument agree.
    CONSTRAINT project_compensation_adapter_bindings_identity_key UNIQUE (id, project_id, instrument_type)
);

CREATE UNIQUE INDEX project_compensation_adapter_bindings_one_active
    ON project_compensation_adapter_bindings (project_id, instrument_type) WHERE status = 'active';

CREATE FUNCTION project_compensation_adapter_bindings_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM actor_profiles WHERE id = NEW.adapter_actor_id AND kind = 'service') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'project_compensation_adapter_bindings_adapter_service',
            'the adapter of a binding must be a service actor');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
            ARRAY['status', 'binding_lifecycle_version', 'updated_at'],
            'a binding changes only its status');
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            IF OLD.status = 'retired' THEN
                PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
            END IF;
            IF NEW.binding_lifecycle_version <> OLD.binding_lifecycle_version + 1 THEN
                PERFORM workstream_reject_invalid(TG_TABLE_NAME,
                    'project_compensation_adapter_bindings_version_bumped',
                    'each status change must bump binding_lifecycle_version by one');
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER project_compensation_adapter_bindings_guard
    BEFORE INSERT OR UPDATE OR DELETE ON project_compensation_adapter_bindings
    FOR EACH ROW EXECUTE FUNCTION project_compensation_adapter_bindings_guard();
CREATE TRIGGER project_compensation_adapter_bindings_touch_updated_at
    BEFORE UPDATE ON project_compensation_adapter_bindings
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Contribution policies, not guide-versioned (docs/lifecycle.md, "Contribution policy and version")
-- ---------------------------------------------------------------------------------------

-- At most one active policy per project (partial unique); an active policy points at
-- exactly one published version (CHECK + trigger). R5: missing configuration blocks
-- activation, it is never read as "unpaid".
CREATE TABLE contribution_policies (
    id                           uuid PRIMARY KEY,
    project_id                   uuid NOT NULL REFERENCES projects (id),
    name                         text NOT NULL,
    status                       text NOT NULL DEFAULT 'draft',
    current_published_version_id uuid,
    created_by                   uuid NOT NULL REFERENCES actor_profiles (id),
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now(),
    retired_by                   uuid REFERENCES actor_profiles (id),
    retired_at                   timestamptz,
    CONSTRAINT contribution_policies_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT contribution_policies_status_valid CHECK (status IN ('draft', 'active', 'retired')),
    CONSTRAINT contribution_policies_active_has_version
        CHECK (status <> 'active' OR current_published_version_id IS NOT NULL),
    CONSTRAINT contribution_policies_retired_shape
        CHECK ((status = 'retired') = (retired_at IS NOT NULL AND retired_by IS NOT NULL)),
    CONSTRAINT contribution_policies_project_key UNIQUE (id, project_id)
);

CREATE UNIQUE INDEX contribution_policies_one_active_per_project
    ON contribution_policies (project_id) WHERE status = 'active';

-- A numbered version of a policy. Draft: editable (its proposed terms live in draft_terms;
-- rules and award definitions are appended, immutably, just before publication).
-- Published/retired: [I*], only the retirement close-out may change (trigger). Publishing
-- requires one rule per contribution type and at least one award definition for every
-- compensated rule (trigger; docs/lifecycle.md, "Contribution policy and version").
CREATE TABLE contribution_policy_versions (
    id                      uuid PRIMARY KEY,
    contribution_policy_id  uuid NOT NULL,
    project_id              uuid NOT NULL REFERENCES projects (id),
    version_number          integer NOT NULL,
    status                  text NOT NULL DEFAULT 'draft',
    draft_terms             jsonb,
    created_by              uuid NOT NULL REFERENCES actor_profiles (id),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    published_by            uuid REFERENCES actor_profiles (id),
    published_at            timestamptz,
    retired_by              uuid REFERENCES actor_profiles (id),
    retired_at              timestamptz,
    CONSTRAINT contribution_policy_versions_number_positive CHECK (version_number >= 1),
    CONSTRAINT contribution_policy_versions_status_valid CHECK (status IN ('draft', 'published', 'retired')),
    CONSTRAINT contribution_policy_versions_draft_terms_object CHECK (jsonb_typeof(draft_terms) = 'object'),
    CONSTRAINT contribution_policy_versions_lifecycle_shape CHECK (
        (status = 'draft' AND published_at IS NULL AND published_by IS NULL AND retired_at IS NULL)
        OR (status = 'published' AND published_at IS NOT NULL AND published_by IS NOT NULL AND retired_at IS NULL)
        OR (status = 'retired' AND published_at IS NOT NULL AND published_by IS NOT NULL
            AND retired_at IS NOT NULL AND retired_by IS NOT NULL)),
    CONSTRAINT contribution_policy_versions_policy_fk FOREIGN KEY (contribution_policy_id, project_id)
        REFERENCES contribution_policies (id, project_id),
    CONSTRAINT contribution_policy_versions_policy_number_key UNIQUE (contribution_policy_id, version_number),
    CONSTRAINT contribution_policy_versions_project_key UNIQUE (id, project_id),
    CONSTRAINT contribution_policy_versions_policy_key UNIQUE (id, contribution_policy_id)
);

-- The current published version belongs to this very policy.
ALTER TABLE contribution_policies
    ADD CONSTRAINT contribution_policies_current_version_fk
    FOREIGN KEY (current_published_version_id, id)
    REFERENCES contribution_policy_versions (id, contribution_policy_id);

CREATE FUNCTION contribution_policies_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status AND NOT (
           (OLD.status = 'draft'  AND NEW.status IN ('active', 'retired'))
        OR (OLD.status = 'active' AND NEW.status = 'retired')) THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    IF NEW.current_published_version_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM contribution_policy_versions
        WHERE id = NEW.current_published_version_id AND status = 'published') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'contribution_policies_current_version_published',
            'the current version of a policy must be published');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER contribution_policies_guard BEFORE INSERT OR UPDATE OR DELETE ON contribution_policies
    FOR EACH ROW EXECUTE FUNCTION contribution_policies_guard();
CREATE TRIGGER contribution_policies_touch_updated_at BEFORE UPDATE ON contribution_policies
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- One rule per contribution type per version (UNIQUE). [I]: append-only, and only while
-- the version is still a draft (trigger), so a published version can never gain terms.
CREATE TABLE contribution_rules (
    id                uuid PRIMARY KEY,
    version_id        uuid NOT NULL,
    project_id        uuid NOT NULL,
    contribution_type text NOT NULL,
    compensation_mode text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contribution_rules_type_valid
        CHECK (contribution_type IN ('accepted_submission', 'completed_review')),
    CONSTRAINT contribution_rules_mode_valid CHECK (compensation_mode IN ('compensated', 'unpaid')),
    CONSTRAINT contribution_rules_version_fk FOREIGN KEY (version_id, project_id)
        REFERENCES contribution_policy_versions (id, project_id),
    CONSTRAINT contribution_rules_version_type_key UNIQUE (version_id, contribution_type),
    CONSTRAINT contribution_rules_identity_key UNIQUE (id, version_id, project_id, contribution_type)
);
SELECT workstream_make_append_only('contribution_rules');

CREATE FUNCTION contribution_rules_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM contribution_policy_versions WHERE id = NEW.version_id AND status = 'draft') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'contribution_rules_version_draft',
            'rules are added only to a draft contribution policy version');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER contribution_rules_check_insert BEFORE INSERT ON contribution_rules
    FOR EACH ROW EXECUTE FUNCTION contribution_rules_check_insert();

-- What a compensated rule pays: a fixed exact quantity (NUMERIC(38,18): <= 20 integer and <= 18
-- fractional digits; no formula, docs/rules.md (R41)) of one unit through one adapter binding. At
-- most one definition per (rule, instrument), i.e. <= 1 money + <= 1 points
-- (docs/glossary.md, "Award definition"). Points are whole numbers. Unit and binding must be the
-- project's and of the same instrument (composite FKs). [I]: append-only, inserted only under a
-- draft version whose rule is compensated (trigger). NOTE: the NUMERIC(38,18) typmod rounds extra
-- fractional digits silently, so the application must reject such input before binding (R41).
CREATE TABLE contribution_award_definitions (
    id                 uuid PRIMARY KEY,
    rule_id            uuid NOT NULL,
    version_id         uuid NOT NULL,
    project_id         uuid NOT NULL,
    contribution_type  text NOT NULL,
    instrument_type    text NOT NULL,
    unit_code          text NOT NULL,
    quantity           numeric(38, 18) NOT NULL,
    adapter_binding_id uuid NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contribution_award_definitions_instrument_valid
        CHECK (instrument_type IN ('money', 'project_points')),
    CONSTRAINT contribution_award_definitions_quantity_positive CHECK (quantity > 0),
    CONSTRAINT contribution_award_definitions_points_whole
        CHECK (instrument_type <> 'project_points' OR quantity = trunc(quantity)),
    CONSTRAINT contribution_award_definitions_rule_fk
        FOREIGN KEY (rule_id, version_id, project_id, contribution_type)
        REFERENCES contribution_rules (id, version_id, project_id, contribution_type),
    CONSTRAINT contribution_award_definitions_unit_fk
        FOREIGN KEY (project_id, instrument_type, unit_code)
        REFERENCES project_compensation_units (project_id, instrument_type, unit_code),
    CONSTRAINT contribution_award_definitions_binding_fk
        FOREIGN KEY (adapter_binding_id, project_id, instrument_type)
        REFERENCES project_compensation_adapter_bindings (id, project_id, instrument_type),
    CONSTRAINT contribution_award_definitions_rule_instrument_key UNIQUE (rule_id, instrument_type),
    -- Target of the awards' "copied exactly" FK (R41).
    CONSTRAINT contribution_award_definitions_terms_key UNIQUE (
        id, version_id, contribution_type, instrument_type, unit_code, quantity, adapter_binding_id)
);
SELECT workstream_make_append_only('contribution_award_definitions');

CREATE FUNCTION contribution_award_definitions_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM contribution_policy_versions WHERE id = NEW.version_id AND status = 'draft') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'contribution_award_definitions_version_draft',
            'award definitions are added only to a draft contribution policy version');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM contribution_rules WHERE id = NEW.rule_id AND compensation_mode = 'compensated') THEN
        PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'contribution_award_definitions_rule_compensated',
            'an unpaid rule has no award definitions');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER contribution_award_definitions_check_insert BEFORE INSERT ON contribution_award_definitions
    FOR EACH ROW EXECUTE FUNCTION contribution_award_definitions_check_insert();

CREATE FUNCTION contribution_policy_versions_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'draft' THEN
        IF NEW.status = 'retired' THEN
            PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
        END IF;
        IF NEW.status = 'published' THEN
            -- Exactly one rule per contribution type in each publishable version, and a compensated
            -- rule pays through 1-2 definitions (docs/glossary.md, "Contribution rule").
            IF (SELECT count(*) FROM contribution_rules WHERE version_id = NEW.id) <> 2 THEN
                PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'contribution_policy_versions_complete',
                    'a published version needs one rule for each contribution type');
            END IF;
            IF EXISTS (SELECT 1 FROM contribution_rules r
                       WHERE r.version_id = NEW.id AND r.compensation_mode = 'compensated'
                         AND NOT EXISTS (SELECT 1 FROM contribution_award_definitions d WHERE d.rule_id = r.id)) THEN
                PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'contribution_policy_versions_complete',
                    'a compensated rule needs at least one award definition');
            END IF;
        END IF;
        RETURN NEW;
    END IF;
    -- Published or retired: [I*].
    PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
        ARRAY['status', 'retired_by', 'retired_at', 'updated_at'],
        'a published contribution policy version is immutable except for its retirement');
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (OLD.status = 'published' AND NEW.status = 'retired') THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER contribution_policy_versions_freeze BEFORE UPDATE OR DELETE ON contribution_policy_versions
    FOR EACH ROW EXECUTE FUNCTION contribution_policy_versions_guard();
CREATE TRIGGER contribution_policy_versions_no_truncate BEFORE TRUNCATE ON contribution_policy_versions
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();
CREATE TRIGGER contribution_policy_versions_touch_updated_at BEFORE UPDATE ON contribution_policy_versions
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();

-- ---------------------------------------------------------------------------------------
-- Checker components, identified by digest (docs/checkers.md, "The registry and publication")
-- ---------------------------------------------------------------------------------------

-- The registry of WASM checker components. The digest is the identity and the primary
-- key; policies pin digests, never names. Bytes live either inline (built-ins and small
-- components) or in the object store under object_key (exactly one of the two); inline
-- bytes must hash to the digest. [I]: a component never changes, a new build is a new row.
-- (name, version) is deliberately not unique (docs/checkers.md, "The registry and publication").
CREATE TABLE checker_components (
    digest          text PRIMARY KEY,
    name            text NOT NULL,
    version         text NOT NULL,
    description     text NOT NULL DEFAULT '',
    config_schema   jsonb NOT NULL,
    contract        text NOT NULL DEFAULT 'workstream:checker@0.1.0',
    wasm_bytes      bytea,
    object_key      text,
    byte_count      bigint NOT NULL,
    builtin         boolean NOT NULL DEFAULT false,
    registered_by   uuid REFERENCES actor_profiles (id),
    registered_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT checker_components_digest_format CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT checker_components_name_format CHECK (name ~ '^[a-z][a-z0-9_.-]{0,99}$'),
    CONSTRAINT checker_components_version_length CHECK (char_length(version) BETWEEN 1 AND 64),
    CONSTRAINT checker_components_description_length CHECK (char_length(description) <= 4000),
    CONSTRAINT checker_components_config_schema_object CHECK (jsonb_typeof(config_schema) = 'object'),
    CONSTRAINT checker_components_contract_length CHECK (char_length(contract) BETWEEN 1 AND 100),
    CONSTRAINT checker_components_bytes_xor_object_key CHECK (num_nonnulls(wasm_bytes, object_key) = 1),
    CONSTRAINT checker_components_object_key_length CHECK (char_length(object_key) BETWEEN 1 AND 1024),
    CONSTRAINT checker_components_byte_count_positive CHECK (byte_count > 0),
    CONSTRAINT checker_components_bytes_match_count
        CHECK (wasm_bytes IS NULL OR octet_length(wasm_bytes) = byte_count),
    CONSTRAINT checker_components_bytes_match_digest
        CHECK (wasm_bytes IS NULL OR digest = 'sha256:' || encode(sha256(wasm_bytes), 'hex'))
);
SELECT workstream_make_append_only('checker_components');

CREATE INDEX checker_components_name_idx ON checker_components (name, version);

-- ---------------------------------------------------------------------------------------
-- Guide versions (docs/architecture.md, "One policy bundle per guide"; R4, R6)
-- ---------------------------------------------------------------------------------------

-- A guide version carries ONE immutable policy bundle (jsonb: artifact, checker, review and
-- revision policy) hashed as canonical JSON (policy_bundle_hash), plus the hash of each
-- part so tasks and submissions can pin exactly what they run under (composite FKs from
-- tasks and submissions). One active guide per project (partial unique). Activation
-- allocates activation_sequence, unique and increasing per project. Draft: editable.
-- Active/superseded: [I*] - only status active -> superseded and superseded_at may change
-- (trigger, R6, AS07). Activation requires the selected contribution policy version to be
-- the current published version of the project's active policy (trigger, R4, AS03).
CREATE TABLE project_guides (
    id                              uuid PRIMARY KEY,
    project_id                      uuid NOT NULL REFERENCES projects (id),
    version                         text NOT NULL,
    status                          text NOT NULL DEFAULT 'draft',
    activation_sequence             integer,
    content_markdown                text NOT NULL DEFAULT '',
    change_summary                  text NOT NULL DEFAULT '',
    policy_bundle                   jsonb,
    policy_bundle_hash              text,
    artifact_policy_hash            text,
    checker_policy_hash             text,
    review_policy_hash              text,
    revision_policy_hash            text,
    contribution_policy_version_id  uuid,
    approved_by                     uuid REFERENCES actor_profiles (id),
    effective_at                    timestamptz,
    superseded_at                   timestamptz,
    created_by                      uuid NOT NULL REFERENCES actor_profiles (id),
    created_at                      timestamptz NOT NULL DEFAULT now(),
    updated_at                      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_guides_version_length CHECK (char_length(version) BETWEEN 1 AND 64),
    CONSTRAINT project_guides_status_valid CHECK (status IN ('draft', 'active', 'superseded')),
    CONSTRAINT project_guides_activation_sequence_positive CHECK (activation_sequence >= 1),
    CONSTRAINT project_guides_content_length CHECK (char_length(content_markdown) <= 1000000),
    CONSTRAINT project_guides_change_summary_length CHECK (char_length(change_summary) <= 4000),
    CONSTRAINT project_guides_policy_bundle_object CHECK (jsonb_typeof(policy_bundle) = 'object'),
    CONSTRAINT project_guides_policy_bundle_hash_format CHECK (policy_bundle_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT project_guides_artifact_policy_hash_format CHECK (artifact_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT project_guides_checker_policy_hash_format CHECK (checker_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT project_guides_review_policy_hash_format CHECK (review_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    CONSTRAINT project_guides_revision_policy_hash_format CHECK (revision_policy_hash ~ '^sha256:[0-9a-f]{64}$'),
    -- The bundle and all of its hashes are set together.
    CONSTRAINT project_guides_bundle_shape CHECK (
        (policy_bundle IS NULL AND policy_bundle_hash IS NULL AND artifact_policy_hash IS NULL
         AND checker_policy_hash IS NULL AND review_policy_hash IS NULL AND revision_policy_hash IS NULL)
        OR (policy_bundle IS NOT NULL AND policy_bundle_hash IS NOT NULL AND artifact_policy_hash IS NOT NULL
         AND checker_policy_hash IS NOT NULL AND review_policy_hash IS NOT NULL AND revision_policy_hash IS NOT NULL)),
    -- Draft has no activation facts; active/superseded have all of them.
    CONSTRAINT project_guides_lifecycle_shape CHECK (
        (status = 'draft' AND activation_sequence IS NULL AND effective_at IS NULL AND superseded_at IS NULL)
        OR (status IN ('active', 'superseded') AND activation_sequence IS NOT NULL
            AND policy_bundle IS NOT NULL AND contribution_policy_version_id IS NOT NULL
            AND approved_by IS NOT NULL AND effective_at IS NOT NULL
            AND (status = 'superseded') = (superseded_at IS NOT NULL))),
    CONSTRAINT project_guides_contribution_policy_version_fk
        FOREIGN KEY (contribution_policy_version_id, project_id)
        REFERENCES contribution_policy_versions (id, project_id),
    CONSTRAINT project_guides_project_version_key UNIQUE (project_id, version),
    CONSTRAINT project_guides_project_activation_sequence_key UNIQUE (project_id, activation_sequence),
    -- Targets of the lock FKs from tasks and submissions (R12).
    CONSTRAINT project_guides_lock_identity_key UNIQUE (
        id, project_id, version, activation_sequence, policy_bundle_hash,
        artifact_policy_hash, checker_policy_hash, review_policy_hash, revision_policy_hash),
    CONSTRAINT project_guides_contribution_binding_key UNIQUE (id, contribution_policy_version_id)
);

CREATE UNIQUE INDEX project_guides_one_active_per_project
    ON project_guides (project_id) WHERE status = 'active';

CREATE FUNCTION project_guides_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            PERFORM workstream_raise_immutable(TG_TABLE_NAME, TG_NAME, TG_OP);
        END IF;
        RETURN OLD;
    END IF;

    IF TG_OP = 'UPDATE' AND OLD.status <> 'draft' THEN
        -- [I*]: once active, the content and the bundle never change (R6, AS06, AS07).
        PERFORM workstream_assert_only_changed(TG_TABLE_NAME, TG_NAME, to_jsonb(OLD), to_jsonb(NEW),
            ARRAY['status', 'superseded_at', 'updated_at'],
            'an activated guide is immutable except for its supersession');
        IF NEW.status IS DISTINCT FROM OLD.status AND NOT (OLD.status = 'active' AND NEW.status = 'superseded') THEN
            PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
        END IF;
        RETURN NEW;
    END IF;

    IF TG_OP = 'UPDATE' AND NEW.status = 'superseded' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, OLD.status, NEW.status);
    END IF;
    IF TG_OP = 'INSERT' AND NEW.status = 'superseded' THEN
        PERFORM workstream_reject_transition(TG_TABLE_NAME, 'none', NEW.status);
    END IF;

    IF NEW.status = 'active' THEN
        -- Activation (draft -> active, or inserted active): the sequence only grows ...
        IF EXISTS (SELECT 1 FROM project_guides
                   WHERE project_id = NEW.project_id AND id <> NEW.id
                     AND activation_sequence >= NEW.activation_sequence) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'project_guides_activation_sequence_increasing',
                'activation_sequence must exceed every earlier activation of the project');
        END IF;
        -- ... and the selected contribution policy version is the current published version
        -- of the project's active policy (R4, R5, AS03).
        IF NOT EXISTS (SELECT 1 FROM contribution_policies p
                       JOIN contribution_policy_versions v ON v.id = p.current_published_version_id
                       WHERE p.project_id = NEW.project_id AND p.status = 'active'
                         AND v.status = 'published' AND v.id = NEW.contribution_policy_version_id) THEN
            PERFORM workstream_reject_invalid(TG_TABLE_NAME, 'project_guides_contribution_policy_current',
                'activation needs the current published version of the project''s active contribution policy');
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER project_guides_freeze BEFORE INSERT OR UPDATE OR DELETE ON project_guides
    FOR EACH ROW EXECUTE FUNCTION project_guides_guard();
CREATE TRIGGER project_guides_no_truncate BEFORE TRUNCATE ON project_guides
    FOR EACH STATEMENT EXECUTE FUNCTION workstream_reject_mutation();
CREATE TRIGGER project_guides_touch_updated_at BEFORE UPDATE ON project_guides
    FOR EACH ROW EXECUTE FUNCTION workstream_touch_updated_at();
