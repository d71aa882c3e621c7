{#- Cleaning rule for a vendor's free-text field (UTM values, campaign names, page URLs,
    referrers, query strings): e-mail addresses (also URL-encoded, name%40host) and
    phone-number-like strings (an international +prefix with 8 or more digits, or a
    3-3-4 digit group like 555-123-4567) are replaced by '[email]' / '[phone]' before anything
    is joined, grouped or published. Plain digit runs (campaign ids) and dates are kept. -#}
{% macro scrub_pii(expr) -%}
    regexp_replace(
        regexp_replace(
            {{ expr }},
            '[a-z0-9._%+-]+(@|%40)[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}',
            '[email]',
            'gi'
        ),
        '(\+|%2b)[0-9][0-9 ()./-]{6,18}[0-9]|\(?\b[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4}\b',
        '[phone]',
        'gi'
    )
{%- endmacro %}
