"""A Flask app with a CLI command that runs as an Actor: ``flask --app app import-products``.

Input (``storage/key_value_stores/default/INPUT.json`` locally, the run input on the platform)::

    {"products": [{"name": "Tea", "price": 3.5}], "currency": "EUR"}
"""

import click
from flask import Flask

from actorkit import actor
from actorkit.integrations.flask import actor_command

app = Flask(__name__)


@app.get('/')
def index():
    return {'status': 'ok'}


@app.cli.command('import-products')
@click.option('--limit', type=int, default=None, help='Import at most this many.')
@actor_command
def import_products(limit):
    """Import the products of the Actor input into the default dataset."""
    data = actor.get_input() or {}
    products = data.get('products')
    if not isinstance(products, list):
        raise click.UsageError('the input has no "products" list')
    currency = data.get('currency', 'USD')
    products = products[:limit] if limit else products
    for product in actor.progress(products, desc='Importing'):
        actor.push_data({'name': product['name'], 'price': f'{product["price"]:.2f} {currency}'})
    actor.set_value('SUMMARY', {'imported': len(products), 'currency': currency})
    click.echo(f'imported {len(products)} products')
