with

source as (

    select * from {{ source('fx', 'daily_rates') }}

),

renamed as (

    select
        cast(rate_date as date) as rate_date,
        upper(currency_code) as currency_code,
        cast(units_per_eur as decimal(18, 6)) as units_per_eur,
        cast(published_on as date) as published_on,
        source as rate_source

    from source

)

select * from renamed
